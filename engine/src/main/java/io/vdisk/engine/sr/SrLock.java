package io.vdisk.engine.sr;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An advisory lock on a file with {@link FileChannel#tryLock}, which NFS honours, so processes and
 * hosts sharing an SR never change it at once. Never waits: a held lock is an error naming the
 * holder ("in use by pid N: vdisk vm-copy"), which an exclusive holder writes into the file.
 */
final class SrLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private SrLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Takes the lock on {@code file} (created if needed), shared or exclusive, or fails at once. */
  static SrLock take(Path file, boolean exclusive, String what, String purpose) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = ch.tryLock(0, Long.MAX_VALUE, !exclusive);
    } catch (OverlappingFileLockException e) {
      l = null;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (l == null) {
      String holder = holder(ch);
      ch.close();
      throw new SrException(
          SrException.Kind.LOCKED,
          what
              + " is in use"
              + (holder.isEmpty() ? " by another vdisk process" : " by " + holder)
              + "; try again when it is done");
    }
    if (exclusive) {
      byte[] me =
          ("pid " + ProcessHandle.current().pid() + ": vdisk " + purpose)
              .getBytes(StandardCharsets.UTF_8);
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(me), 0);
    }
    return new SrLock(ch, l);
  }

  private static String holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(256);
      ch.read(b, 0);
      return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      if (lock.isValid()) {
        lock.release();
      }
    } finally {
      channel.close();
    }
  }
}
