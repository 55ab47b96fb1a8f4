package io.vdisk.engine.sr;

import io.vdisk.engine.io.Holders;
import io.vdisk.engine.io.WholeFileLock;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * An SR's lock or a VDI's: exclusive for changes, shared to read ({@link WholeFileLock}). Never
 * waits: a held lock is an error naming the holder, from the kernel for holders on this host (pid
 * and command, never stale), else from the text an exclusive holder keeps in the file.
 */
final class SrLock implements AutoCloseable {
  private final WholeFileLock lock;

  private SrLock(WholeFileLock lock) {
    this.lock = lock;
  }

  /** Takes the lock on {@code file} (created if needed), shared or exclusive, or fails at once. */
  static SrLock take(Path file, boolean exclusive, String what, String purpose) throws IOException {
    WholeFileLock l = WholeFileLock.tryTake(file, exclusive);
    if (l == null) {
      throw new SrException(
          SrException.Kind.LOCKED,
          what + " is in use by " + holder(file) + "; try again when it is done");
    }
    try {
      l.writeHolder(Holders.self(purpose));
    } catch (IOException | RuntimeException e) {
      l.close();
      throw e;
    }
    return new SrLock(l);
  }

  /**
   * The exclusive holder's own text when there is one (host, pid, verb, since when: emptied on
   * release, so never stale), else the holders this host's kernel knows (readers leave no text).
   */
  private static String holder(Path file) {
    String text = WholeFileLock.holderOf(file);
    if (!text.isEmpty()) {
      return text;
    }
    List<String> local = Holders.local(file);
    return local.isEmpty()
        ? "a process on another host (a reader, or one that left no name)"
        : String.join(", ", local);
  }

  @Override
  public void close() throws IOException {
    lock.close();
  }
}
