package io.vdisk.engine;

/** Progress callback of long work: bytes of the virtual disk done so far, of the total. */
@FunctionalInterface
public interface Progress {
  void update(long done, long total);

  /** Reports nothing. */
  Progress NONE = (d, t) -> {};
}
