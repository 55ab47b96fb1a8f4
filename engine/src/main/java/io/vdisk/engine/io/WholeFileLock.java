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
  private boolean closed;

  private WholeFileLock(FileChannel channel, int fd, FileLock javaLock, boolean exclusive) {
    this.channel = channel;
    this.fd = fd;
    this.javaLock = javaLock;
    this.exclusive = exclusive;
  }

  /**
   * Takes the lock on {@code file} (created if missing), or returns null when another opener holds
   * a conflicting one; read {@link #holderOf} to say who.
   */
  public static WholeFileLock tryTake(Path file, boolean exclusive) throws IOException {
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

  /** Writes who holds the lock (exclusive holders only), forced to the file's server. */
  public void writeHolder(String text) throws IOException {
    if (!exclusive || channel == null) {
      return;
    }
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    channel.truncate(0);
    channel.write(ByteBuffer.wrap(b, 0, Math.min(b.length, MAX_HOLDER)), 0);
    channel.force(true);
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
