package io.vdisk.engine.sr;

import io.vdisk.engine.io.Holders;
import io.vdisk.engine.io.LockWait;
import io.vdisk.engine.io.WholeFileLock;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An SR's lock or a VDI's: exclusive for changes, shared to read ({@link WholeFileLock}). A held
 * lock is waited for ({@link LockWait}), then an error naming the holder: the text an exclusive
 * holder keeps in the file, the notes readers leave beside it, else what this host's kernel knows.
 */
final class SrLock implements AutoCloseable {
  private final WholeFileLock lock;

  private SrLock(WholeFileLock lock) {
    this.lock = lock;
  }

  /**
   * Takes the lock on {@code file} (created if needed), shared or exclusive, waiting for it up to
   * {@link io.vdisk.engine.io.LockWait#limit()}; still held after that is {@link
   * SrException.Kind#LOCKED}, naming the holder.
   */
  static SrLock take(Path file, boolean exclusive, String what, String purpose) throws IOException {
    WholeFileLock l = WholeFileLock.take(file, exclusive, what, Holders.self(purpose));
    if (l == null) {
      throw new SrException(
          SrException.Kind.LOCKED,
          what
              + " is "
              + WholeFileLock.holders(file)
              + (LockWait.limit().isZero()
                  ? ""
                  : " (waited " + LockWait.limit().toSeconds() + " s)")
              + "; try again when it is done");
    }
    return new SrLock(l);
  }

  /** As {@link #take}, without waiting: null when another process holds it. */
  static SrLock tryTake(Path file, boolean exclusive, String purpose) throws IOException {
    WholeFileLock l =
        WholeFileLock.take(file, exclusive, file.toString(), Holders.self(purpose), Duration.ZERO);
    return l == null ? null : new SrLock(l);
  }

  @Override
  public void close() throws IOException {
    lock.close();
  }
}
