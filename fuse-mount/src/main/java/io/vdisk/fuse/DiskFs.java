package io.vdisk.fuse;

import com.kenai.jffi.MemoryIO;
import io.vdisk.engine.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import jnr.ffi.Pointer;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;

/**
 * A flat directory of disks: each file is one {@link VirtualDisk}'s guest-visible bytes. Reads and
 * writes go straight from and into FUSE's buffer, wrapped as a direct {@link ByteBuffer} (no heap
 * copy). Every callback is total: it catches everything and answers an errno.
 */
public final class DiskFs extends FuseStubFS {
  /** One file of the mount. */
  public record Entry(VirtualDisk disk, boolean readOnly) {}

  private final Map<String, Entry> files;
  private final long mountedAt = Instant.now().getEpochSecond();

  public DiskFs(Map<String, Entry> files) {
    this.files = new LinkedHashMap<>(files);
  }

  private Entry entry(String path) {
    return path.length() > 1 ? files.get(path.substring(1)) : null;
  }

  @Override
  public int getattr(String path, FileStat stat) {
    try {
      if (path.equals("/")) {
        stat.st_mode.set(FileStat.S_IFDIR | 0755);
        stat.st_nlink.set(2);
      } else {
        Entry e = entry(path);
        if (e == null) {
          return -ErrorCodes.ENOENT();
        }
        stat.st_mode.set(FileStat.S_IFREG | (e.readOnly() ? 0444 : 0644));
        stat.st_nlink.set(1);
        stat.st_size.set(e.disk().size());
        stat.st_blksize.set(4096);
        stat.st_blocks.set((e.disk().size() + 511) / 512);
      }
      stat.st_uid.set(getContext().uid.get());
      stat.st_gid.set(getContext().gid.get());
      stat.st_mtim.tv_sec.set(mountedAt);
      stat.st_atim.tv_sec.set(mountedAt);
      stat.st_ctim.tv_sec.set(mountedAt);
      return 0;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int readdir(
      String path, Pointer buf, FuseFillDir filter, @off_t long offset, FuseFileInfo fi) {
    try {
      if (!path.equals("/")) {
        return -ErrorCodes.ENOTDIR();
      }
      filter.apply(buf, ".", null, 0);
      filter.apply(buf, "..", null, 0);
      for (String name : files.keySet()) {
        filter.apply(buf, name, null, 0);
      }
      return 0;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int open(String path, FuseFileInfo fi) {
    try {
      Entry e = entry(path);
      if (e == null) {
        return -ErrorCodes.ENOENT();
      }
      int acc = fi.flags.get() & 3; // O_ACCMODE
      if (acc != 0 && e.readOnly()) {
        return -ErrorCodes.EROFS();
      }
      return 0;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int read(
      String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
    try {
      Entry e = entry(path);
      if (e == null) {
        return -ErrorCodes.ENOENT();
      }
      long n = Math.min(size, e.disk().size() - offset);
      if (n <= 0) {
        return 0;
      }
      ByteBuffer dst = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) n);
      e.disk().read(offset, dst);
      return (int) n;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int write(
      String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
    try {
      Entry e = entry(path);
      if (e == null) {
        return -ErrorCodes.ENOENT();
      }
      if (e.readOnly()) {
        return -ErrorCodes.EROFS();
      }
      if (offset >= e.disk().size()) {
        return -ErrorCodes.ENOSPC();
      }
      long n = Math.min(size, e.disk().size() - offset);
      ByteBuffer src = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) n);
      e.disk().write(offset, src);
      return (int) n;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int truncate(String path, @off_t long size) {
    try {
      Entry e = entry(path);
      if (e == null) {
        return -ErrorCodes.ENOENT();
      }
      // A disk's size is fixed here (vdisk resize changes it); truncating to it is a no-op.
      return size == e.disk().size() ? 0 : -ErrorCodes.EINVAL();
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int flush(String path, FuseFileInfo fi) {
    return sync(path);
  }

  @Override
  public int fsync(String path, int isdatasync, FuseFileInfo fi) {
    return sync(path);
  }

  private int sync(String path) {
    try {
      Entry e = entry(path);
      if (e == null) {
        return -ErrorCodes.ENOENT();
      }
      if (!e.readOnly()) {
        e.disk().flush();
      }
      return 0;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  @Override
  public int statfs(String path, Statvfs stbuf) {
    try {
      long total = files.values().stream().mapToLong(e -> e.disk().size()).sum();
      stbuf.f_bsize.set(4096);
      stbuf.f_frsize.set(4096);
      stbuf.f_blocks.set(total / 4096);
      stbuf.f_bfree.set(0);
      stbuf.f_bavail.set(0);
      stbuf.f_files.set(files.size());
      stbuf.f_namemax.set(255);
      return 0;
    } catch (Throwable t) {
      return io.vdisk.fuse.Errno.of(t);
    }
  }

  /**
   * Mounts and serves requests on {@code threads} Java threads until unmounted (or SIGTERM or
   * SIGINT), then returns; see {@link SessionLoop}.
   */
  public void serve(java.nio.file.Path mountpoint, java.util.List<String> options, int threads) {
    SessionLoop.run(fuseOperations, mountpoint, options, threads);
  }

  /** Flushes and closes every disk (on unmount, SIGTERM or SIGINT). */
  public void closeAll() {
    for (Entry e : files.values()) {
      try {
        e.disk().close();
      } catch (IOException | RuntimeException ignored) {
        // best effort on the way out; the engine's ordering keeps each image consistent
      }
    }
  }
}
