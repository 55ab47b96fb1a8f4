package io.vdisk.engine.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * A lock on a whole lock file (an SR's {@code sr.lock}, a VDI's lock): exclusive or shared, an OFD
 * lock on Linux ({@link LinuxFiles}: it survives other opens of the file in this process and the
 * NFS client carries it to the server), Java's {@code FileChannel.lock} elsewhere. An exclusive
 * holder writes who it is into the file, forced to the server so that other hosts read it, and
 * empties it again before it lets go. On a read-only file system a shared lock is taken without a
 * lock file when there is none: nothing can change there anyway.
 */
public final class WholeFileLock implements Closeable {
  private static final int MAX_HOLDER = 512;

  private final FileChannel channel;
  private final int fd;
  private final FileLock javaLock;
  private final boolean exclusive;
  private Path note;
  private boolean closed;

  private static final String READER = ".reader.";
  private static final java.util.concurrent.atomic.AtomicInteger NOTES =
      new java.util.concurrent.atomic.AtomicInteger();

  private WholeFileLock(FileChannel channel, int fd, FileLock javaLock, boolean exclusive) {
    this.channel = channel;
    this.fd = fd;
    this.javaLock = javaLock;
    this.exclusive = exclusive;
  }

  /**
   * Takes the lock, waiting for it up to {@link LockWait#limit()} when another process holds it
   * (saying once, through {@link LockWait#onWait}, whom it waits for); null when it is still held
   * at the end. {@code holder} is written into the file by an exclusive holder, or into a reader's
   * note beside it by a shared one, so that others can say who holds it.
   */
  public static WholeFileLock take(Path file, boolean exclusive, String what, String holder)
      throws IOException {
    return take(file, exclusive, what, holder, LockWait.limit());
  }

  /** As above, waiting at most {@code limit} (zero: not at all). */
  public static WholeFileLock take(
      Path file, boolean exclusive, String what, String holder, Duration limit) throws IOException {
    WholeFileLock l = tryTake(file, exclusive);
    if (l == null && !limit.isZero()) {
      LockWait.tell("waiting up to " + limit.toSeconds() + " s for " + what + ": " + holders(file));
      long deadline = System.nanoTime() + limit.toNanos();
      for (int i = 0; l == null && System.nanoTime() < deadline; i++) {
        Cancellation.checkpoint();
        LockWait.pause(i);
        l = tryTake(file, exclusive);
      }
    }
    if (l != null) {
      try {
        l.record(file, holder);
      } catch (IOException | RuntimeException e) {
        l.close();
        throw e;
      }
    }
    return l;
  }

  /**
   * Takes the lock on {@code file} (created if missing), or returns null when another opener holds
   * a conflicting one; read {@link #holderOf} to say who.
   */
  private static WholeFileLock tryTake(Path file, boolean exclusive) throws IOException {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.createFile(file);
    } catch (FileAlreadyExistsException e) {
      // the usual case
    } catch (FileSystemException e) {
      if (exclusive) {
        throw e;
      }
      if (!Files.exists(file)) {
        return new WholeFileLock(null, -1, null, false); // read-only SR without a lock file
      }
    }
    if (file.getFileSystem() == FileSystems.getDefault() && LinuxFiles.available()) {
      int fd;
      try {
        fd = LinuxFiles.open(file, exclusive);
      } catch (IOException e) {
        if (exclusive) {
          throw e;
        }
        return new WholeFileLock(null, -1, null, false);
      }
      try {
        if (!LinuxFiles.set(fd, exclusive ? LinuxFiles.F_WRLCK : LinuxFiles.F_RDLCK, 0, 0)) {
          LinuxFiles.close(fd);
          return null;
        }
        FileChannel ch =
            FileChannel.open(
                Path.of("/proc/self/fd/" + fd),
                exclusive
                    ? new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE}
                    : new StandardOpenOption[] {StandardOpenOption.READ});
        return new WholeFileLock(ch, fd, null, exclusive);
      } catch (LinuxFiles.UnsupportedLockException e) {
        LinuxFiles.close(fd);
        return new WholeFileLock(null, -1, null, false); // no byte-range locks here (documented)
      } catch (IOException | RuntimeException e) {
        LinuxFiles.close(fd);
        throw e;
      }
    }
    FileChannel ch =
        exclusive
            ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
            : FileChannel.open(file, StandardOpenOption.READ);
    try {
      FileLock l = ch.tryLock(0, Long.MAX_VALUE, !exclusive);
      if (l == null) {
        ch.close();
        return null;
      }
      return new WholeFileLock(ch, -1, l, exclusive);
    } catch (OverlappingFileLockException e) {
      ch.close();
      return null;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Writes who holds the lock, forced to the file's server: an exclusive holder into the lock file,
   * a shared one into its own note beside it ({@code NAME.reader.HOST.PID.N}, removed on release).
   * A note that cannot be written (a read-only SR) is left out: nothing waits there.
   */
  private void record(Path file, String text) throws IOException {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    ByteBuffer bytes = ByteBuffer.wrap(b, 0, Math.min(b.length, MAX_HOLDER));
    if (channel == null) {
      return;
    }
    if (exclusive) {
      channel.truncate(0);
      channel.write(bytes, 0);
      channel.force(true);
      return;
    }
    Path n =
        file.resolveSibling(
            file.getFileName()
                + READER
                + Holders.host()
                + "."
                + ProcessHandle.current().pid()
                + "."
                + NOTES.incrementAndGet());
    try (FileChannel ch =
        FileChannel.open(n, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(bytes);
      ch.force(true);
      note = n;
    } catch (IOException e) {
      // read-only or full: the lock holds all the same
    }
  }

  /**
   * Who holds {@code file}'s lock, for a message: the exclusive holder's text, else the readers'
   * notes (a note of a process of this host that is gone is stale and removed), else the holders
   * this host's kernel knows, else a sentence saying the holder cannot be seen from here.
   */
  public static String holders(Path file) {
    String text = holderOf(file);
    if (!text.isEmpty()) {
      return "in use by " + text;
    }
    java.util.List<String> readers = readerNotes(file);
    if (!readers.isEmpty()) {
      return "read by " + String.join("; ", readers);
    }
    java.util.List<String> local = Holders.local(file);
    return local.isEmpty()
        ? "in use by a process on another host (one that left no name)"
        : "in use by " + String.join(", ", local);
  }

  private static java.util.List<String> readerNotes(Path file) {
    java.util.List<String> out = new java.util.ArrayList<>();
    String prefix = file.getFileName() + READER;
    String host = Holders.host();
    Path dir = file.toAbsolutePath().getParent();
    try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(dir, prefix + "*")) {
      for (Path n : ds) {
        String rest = n.getFileName().toString().substring(prefix.length());
        if (rest.startsWith(host + ".") && gone(rest.substring(host.length() + 1))) {
          Files.deleteIfExists(n); // its process died unreleased: the kernel dropped the lock
          continue;
        }
        try {
          byte[] b = Files.readAllBytes(n);
          out.add(
              Printable.of(
                  new String(b, 0, Math.min(b.length, MAX_HOLDER), StandardCharsets.UTF_8).trim()));
        } catch (IOException e) {
          // released meanwhile
        }
      }
    } catch (IOException e) {
      // no directory listing: say nothing of readers
    }
    return out;
  }

  /** {@code pidAndCount} is "PID.N" of a note this host wrote: true when that process is gone. */
  private static boolean gone(String pidAndCount) {
    int dot = pidAndCount.indexOf('.');
    try {
      return dot > 0 && ProcessHandle.of(Long.parseLong(pidAndCount.substring(0, dot))).isEmpty();
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /**
   * The holder text an exclusive holder left in {@code file}, or "" (printable characters only).
   */
  public static String holderOf(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(MAX_HOLDER);
      ch.read(b, 0);
      return Printable.of(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed || channel == null) {
      closed = true;
      return;
    }
    closed = true;
    try {
      if (note != null) {
        Files.deleteIfExists(note);
      }
      if (exclusive) {
        channel.truncate(0); // never a stale holder: the text goes before the lock does
        channel.force(true);
      }
    } finally {
      try {
        if (javaLock != null && javaLock.isValid()) {
          javaLock.release();
        }
        channel.close();
      } finally {
        if (fd >= 0) {
          LinuxFiles.close(fd);
        }
      }
    }
  }
}
