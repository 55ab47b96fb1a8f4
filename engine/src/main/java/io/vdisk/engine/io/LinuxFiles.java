package io.vdisk.engine.io;

import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Function;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.LastError;
import com.kenai.jffi.Library;
import com.kenai.jffi.MemoryIO;
import com.kenai.jffi.Type;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The few Linux file calls Java lacks, through jffi, the FFI layer jnr-fuse already brings: {@code
 * lseek(SEEK_DATA/SEEK_HOLE)} to skip holes without reading them, and open-file-description locks
 * ({@code F_OFD_SETLK}, {@code F_OFD_GETLK}). They are what qemu's {@code file-posix} takes, they
 * conflict with qemu's and with classic POSIX locks, and the NFS client carries them to the server.
 * Java's {@code FileChannel.lock} takes classic POSIX locks instead, which the kernel drops when
 * the process closes <em>any</em> descriptor of the file: an engine that opens an image twice (a
 * chain and a scan of its directory) would silently lose its lock.
 *
 * <p>Every descriptor is opened {@code O_RDONLY | O_NONBLOCK | O_CLOEXEC} (a FIFO never blocks the
 * open) unless a write lock is wanted; {@code F_OFD_GETLK} tests a write lock from a read-only
 * descriptor, as qemu does.
 */
final class LinuxFiles {
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int ENXIO = 6;
  static final short F_RDLCK = 0;
  static final short F_WRLCK = 1;
  private static final short F_UNLCK = 2;
  private static final int F_OFD_GETLK = 36;
  private static final int F_OFD_SETLK = 37;
  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;
  private static final int EAGAIN = 11;
  private static final int EACCES = 13;
  private static final int EINTR = 4;
  private static final int FLOCK_SIZE = 32; // struct flock on x86_64 and aarch64

  private static final class Libc {
    static final Libc INSTANCE = load();
    final Function open;
    final Function close;
    final Function fcntl;
    final Function lseek;

    private Libc(Function open, Function close, Function fcntl, Function lseek) {
      this.open = open;
      this.close = close;
      this.fcntl = fcntl;
      this.lseek = lseek;
    }

    private static Libc load() {
      try {
        if (!System.getProperty("os.name", "").equals("Linux")) {
          return null;
        }
        Library c = Library.getCachedInstance("libc.so.6", Library.LAZY | Library.GLOBAL);
        if (c == null) {
          return null;
        }
        return new Libc(
            function(c, "open", Type.SINT, Type.POINTER, Type.SINT),
            function(c, "close", Type.SINT, Type.SINT),
            function(c, "fcntl", Type.SINT, Type.SINT, Type.SINT, Type.POINTER),
            function(c, "lseek", Type.SLONG, Type.SINT, Type.SLONG, Type.SINT));
      } catch (LinkageError | RuntimeException e) {
        return null; // no native library for this platform: locks stay inside this JVM
      }
    }

    private static Function function(Library lib, String name, Type ret, Type... params) {
      long address = lib.getSymbolAddress(name);
      if (address == 0) {
        throw new UnsatisfiedLinkError(name);
      }
      return new Function(address, ret, params, CallingConvention.DEFAULT, true);
    }
  }

  private LinuxFiles() {}

  /** True when OFD locks can be taken here (Linux with jffi's native library). */
  static boolean available() {
    return Libc.INSTANCE != null;
  }

  /** Loads the native library now (on a background thread at start-up, to hide its cost). */
  static void preload() {
    available();
  }

  /** Opens a descriptor for locks only. */
  static int open(Path path, boolean forWriteLocks) throws IOException {
    byte[] name = path.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
    MemoryIO m = MemoryIO.getInstance();
    long buf = m.allocateMemory(name.length + 1L, true);
    try {
      m.putZeroTerminatedByteArray(buf, name, 0, name.length);
      int flags = (forWriteLocks ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC;
      int fd;
      int errno;
      do {
        fd = (int) Invoker.getInstance().invokeLLrL(Libc.INSTANCE.open, buf, flags);
        errno = fd < 0 ? LastError.getInstance().get() : 0;
      } while (fd < 0 && errno == EINTR);
      if (fd < 0) {
        throw failure(path, errno);
      }
      return fd;
    } finally {
      m.freeMemory(buf);
    }
  }

  /**
   * The next offset at or after {@code pos} that holds data ({@code SEEK_DATA}), or {@code size}
   * when only a hole follows; {@code pos} itself where the file system cannot tell.
   */
  static long nextData(int fd, long pos, long size) {
    long r = Invoker.getInstance().invokeLLLrL(Libc.INSTANCE.lseek, fd, pos, SEEK_DATA);
    if (r >= 0) {
      return r;
    }
    return LastError.getInstance().get() == ENXIO ? size : pos;
  }

  /** The next hole at or after {@code pos} ({@code SEEK_HOLE}; the end of the file is one). */
  static long nextHole(int fd, long pos, long size) {
    long r = Invoker.getInstance().invokeLLLrL(Libc.INSTANCE.lseek, fd, pos, SEEK_HOLE);
    return r >= 0 ? r : size;
  }

  /** The NIO exception for a failed open, with the reason a shell would print. */
  private static IOException failure(Path path, int errno) {
    return switch (errno) {
      case 2 -> new java.nio.file.NoSuchFileException(path.toString());
      case 13, 1 ->
          new java.nio.file.AccessDeniedException(path.toString(), null, "permission denied");
      case 30 ->
          new java.nio.file.FileSystemException(path.toString(), null, "Read-only file system");
      case 21 -> new java.nio.file.FileSystemException(path.toString(), null, "is a directory");
      case 20 -> new java.nio.file.FileSystemException(path.toString(), null, "not a directory");
      default ->
          new java.nio.file.FileSystemException(
              path.toString(), null, "cannot open (errno " + errno + ")");
    };
  }

  static void close(int fd) {
    Invoker.getInstance().invokeLrL(Libc.INSTANCE.close, fd);
  }

  /**
   * Sets ({@code F_RDLCK}/{@code F_WRLCK}) or releases ({@code type < 0}) a lock on {@code [start,
   * start + len)}; false when another open file holds a conflicting lock.
   */
  static boolean set(int fd, short type, long start, long len) throws IOException {
    return fcntl(fd, F_OFD_SETLK, type < 0 ? F_UNLCK : type, start, len) == F_UNLCK;
  }

  /** True when another open file holds a lock that conflicts with {@code type} there. */
  static boolean conflicts(int fd, short type, long start, long len) throws IOException {
    return fcntl(fd, F_OFD_GETLK, type, start, len) != F_UNLCK;
  }

  /** Runs one OFD command; returns F_UNLCK on success (or "no conflict"), else the lock seen. */
  private static short fcntl(int fd, int cmd, short type, long start, long len) throws IOException {
    MemoryIO m = MemoryIO.getInstance();
    long fl = m.allocateMemory(FLOCK_SIZE, true);
    try {
      while (true) {
        m.setMemory(fl, FLOCK_SIZE, (byte) 0); // OFD commands want l_pid = 0
        m.putShort(fl, type);
        m.putShort(fl + 2, (short) 0); // SEEK_SET
        m.putLong(fl + 8, start);
        m.putLong(fl + 16, len);
        int r = (int) Invoker.getInstance().invokeLLLrL(Libc.INSTANCE.fcntl, fd, cmd, fl);
        if (r == 0) {
          return cmd == F_OFD_GETLK ? m.getShort(fl) : F_UNLCK;
        }
        int errno = LastError.getInstance().get();
        if (errno == EINTR) {
          continue;
        }
        if (cmd == F_OFD_SETLK && (errno == EAGAIN || errno == EACCES)) {
          return type;
        }
        throw new UnsupportedLockException(errno);
      }
    } finally {
      m.freeMemory(fl);
    }
  }

  /** The file system does not take byte-range locks (errno named). */
  static final class UnsupportedLockException extends IOException {
    private static final long serialVersionUID = 1L;

    UnsupportedLockException(int errno) {
      super("byte-range locks are not supported here (errno " + errno + ")");
    }
  }
}
