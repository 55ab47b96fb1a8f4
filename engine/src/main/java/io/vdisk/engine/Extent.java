package io.vdisk.engine;

/**
 * A run of a virtual disk: DATA must be read, ZERO reads as zeros without storage, ABSENT (for a
 * single differencing layer) means "ask the parent". {@code layer} is the chain depth that holds
 * DATA (0 = leaf), or -1.
 */
public record Extent(long offset, long length, Kind kind, int layer) {
  public enum Kind {
    DATA,
    ZERO,
    ABSENT
  }

  public long end() {
    return offset + length;
  }
}
