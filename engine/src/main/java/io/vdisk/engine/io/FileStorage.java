package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * {@link Storage} over a {@link FileChannel}, positional reads and writes only, holding the file's
 * {@link ImageLock} for as long as it is open (none for {@link StorageProvider.Access#PEEK}). The
 * channel is opened through the lock's own descriptor ({@code /proc/self/fd/N}), so the lock and
 * the data are always the same file even if its name is replaced in between.
 *
 * <p>Only regular files and block devices are opened: a FIFO would block every command, and a
 * directory or a character device is no image. A block device's size comes from sysfs, since {@code
 * fstat} reports 0 for it.
 */
final class FileStorage implements Storage {
  private final FileChannel channel;
  private final String name;
  private final ImageLock lock;
  private final long deviceSize;

  /** A descriptor of the same file for lseek (the lock's, or one of its own), or -1. */
  private final int seekFd;

  private final boolean ownSeekFd;

  private FileStorage(
      FileChannel channel, String name, ImageLock lock, long deviceSize, int seekFd, boolean own) {
    this.channel = channel;
    this.name = name;
    this.lock = lock;
    this.deviceSize = deviceSize;
    this.seekFd = seekFd;
    this.ownSeekFd = own;
  }

  static Storage open(Path path, StorageProvider.Access access) throws IOException {
    long deviceSize = checkKind(path);
    ImageLock lock =
        access == StorageProvider.Access.PEEK
            ? null
            : ImageLock.acquire(
                path,
                access == StorageProvider.Access.WRITE
                    ? ImageLock.Mode.WRITE
                    : ImageLock.Mode.READ);
    int fd = lock != null ? lock.descriptor() : -1;
    boolean own = false;
    try {
      if (fd < 0 && path.getFileSystem() == FileSystems.getDefault() && LinuxFiles.available()) {
        fd = LinuxFiles.open(path, false); // a peek: no lock, but holes can still be skipped
        own = true;
      }
      Path through = fd >= 0 ? Path.of("/proc/self/fd/" + fd) : path;
      FileChannel ch =
          access == StorageProvider.Access.WRITE
              ? FileChannel.open(through, StandardOpenOption.READ, StandardOpenOption.WRITE)
              : FileChannel.open(through, StandardOpenOption.READ);
      return new FileStorage(ch, path.toString(), lock, deviceSize, fd, own);
    } catch (IOException | RuntimeException e) {
      if (own) {
        LinuxFiles.close(fd);
      }
      if (lock != null) {
        lock.close();
      }
      if (e instanceof java.nio.file.NoSuchFileException || e instanceof FileSystemException) {
        // Reported against the user's path, not the descriptor's.
        throw rename((IOException) e, path);
      }
      throw e;
    }
  }

  static Storage create(Path path) throws IOException {
    FileChannel ch =
        FileChannel.open(
            path, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
    try {
      ImageLock lock = ImageLock.acquire(path, ImageLock.Mode.WRITE);
      return new FileStorage(ch, path.toString(), lock, -1, lock.descriptor(), false);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static IOException rename(IOException e, Path path) {
    if (e instanceof java.nio.file.AccessDeniedException) {
      return new java.nio.file.AccessDeniedException(path.toString(), null, "permission denied");
    }
    if (e instanceof java.nio.file.NoSuchFileException) {
      return new java.nio.file.NoSuchFileException(path.toString());
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return new FileSystemException(path.toString(), null, f.getReason());
    }
    return e;
  }

  /** Refuses what is not a regular file or a block device; returns a block device's size. */
  static long checkKind(Path path) throws IOException {
    BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
    if (a.isRegularFile()) {
      return -1;
    }
    if (a.isDirectory()) {
      throw new FileSystemException(path.toString(), null, "is a directory, not an image");
    }
    if (path.getFileSystem() == FileSystems.getDefault()) {
      int mode = (Integer) Files.getAttribute(path, "unix:mode");
      if ((mode & 0170000) == 0060000) {
        return blockDeviceSize(path);
      }
    }
    throw new FileSystemException(
        path.toString(),
        null,
        "is not a regular file or block device (a FIFO, socket or character device)");
  }

  private static long blockDeviceSize(Path path) throws IOException {
    long rdev = (Long) Files.getAttribute(path, "unix:rdev");
    long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
    long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
    Path sys = Path.of("/sys/dev/block/" + major + ":" + minor + "/size");
    return Long.parseLong(Files.readString(sys, StandardCharsets.US_ASCII).trim()) * 512;
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  @Override
  public void write(ByteBuffer src, long position) throws IOException {
    long p = position;
    while (src.hasRemaining()) {
      p += channel.write(src, p);
    }
  }

  @Override
  public long size() throws IOException {
    return deviceSize >= 0 ? deviceSize : channel.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    if (deviceSize < 0) {
      channel.truncate(size);
    }
  }

  @Override
  public void force() throws IOException {
    channel.force(true);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    long done = 0;
    while (done < count) {
      long n = channel.transferTo(position + done, count - done, target);
      if (n <= 0) {
        if (position + done >= size()) {
          break; // the file ended
        }
        // a target that took nothing this time: the buffered way always makes progress
        return done + Transfers.copy(this, position + done, count - done, target);
      }
      done += n;
    }
    return done;
  }

  @Override
  public long nextData(long position) throws IOException {
    return seekFd >= 0 && deviceSize < 0
        ? LinuxFiles.nextData(seekFd, position, channel.size())
        : position;
  }

  @Override
  public void close() throws IOException {
    try {
      channel.close();
    } finally {
      if (ownSeekFd) {
        LinuxFiles.close(seekFd);
      }
      if (lock != null) {
        lock.close();
      }
    }
  }
}
