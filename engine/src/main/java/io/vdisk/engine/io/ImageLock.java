package io.vdisk.engine.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The lock an open image holds, as qemu's {@code block/file-posix.c} takes it, so that vdisk and
 * qemu refuse each other where one writes: one writer or many readers, across processes and (on
 * NFS, through the server's lock manager) across hosts, for as long as the image is open.
 *
 * <p>qemu's scheme: permission <i>i</i> (0 consistent read, 1 write, 3 resize) held means a shared
 * lock on byte {@code 100 + i}; permission <i>i</i> not shared with others means a shared lock on
 * byte {@code 200 + i}. Opening first sets its own bytes, then tests: for each permission it holds,
 * is {@code 200 + i} locked by anyone else; for each it refuses to share, is {@code 100 + i}. A
 * reader holds read and refuses to share write and resize (as {@code qemu-img info} does, whence
 * its "Failed to get shared 'write' lock"); a writer holds read, write and resize and shares none
 * of write and resize. Both sides set their bytes before testing, so of two openers racing at least
 * one is refused (sometimes both), never neither.
 *
 * <p>The locks are Linux OFD locks ({@link LinuxFiles}); on a file system of another provider
 * (jimfs in tests) or where the native library cannot load, an equivalent table inside this JVM.
 */
public final class ImageLock implements Closeable {
  /** What the opener will do with the image. */
  public enum Mode {
    READ,
    WRITE
  }

  static final long PERM_BASE = 100;
  static final long SHARED_BASE = 200;
  private static final int CONSISTENT_READ = 0;
  private static final int WRITE = 1;
  private static final int RESIZE = 3;
  private static final int[] READER_PERMS = {CONSISTENT_READ};
  private static final int[] WRITER_PERMS = {CONSISTENT_READ, WRITE, RESIZE};
  private static final int[] UNSHARED = {WRITE, RESIZE};

  private final Backend backend;
  private final Object handle;
  private boolean closed;

  private ImageLock(Backend backend, Object handle) {
    this.backend = backend;
    this.handle = handle;
  }

  /** Loads the native library on a background thread, so the first lock costs nothing later. */
  public static void preload() {
    Thread t = new Thread(LinuxFiles::preload, "vdisk-preload");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Takes the lock on {@code path} or throws {@link ImageRefusedException} naming the holders.
   * Where the file system takes no byte-range locks at all, the open goes on unlocked.
   */
  public static ImageLock acquire(Path path, Mode mode) throws IOException {
    Backend b = backendFor(path);
    Object h = b.open(path);
    try {
      int[] perms = mode == Mode.WRITE ? WRITER_PERMS : READER_PERMS;
      for (int p : perms) {
        b.lockShared(h, PERM_BASE + p);
      }
      for (int p : UNSHARED) {
        b.lockShared(h, SHARED_BASE + p);
      }
      String what = null;
      for (int p : perms) {
        if (b.lockedByOthers(h, SHARED_BASE + p)) {
          what = p == WRITE ? "another opener reads it and does not share writes" : "it is in use";
        }
      }
      for (int p : UNSHARED) {
        if (what == null && b.lockedByOthers(h, PERM_BASE + p)) {
          what = "another opener writes it";
        }
      }
      if (what != null) {
        throw new ImageRefusedException(
            path.toString(),
            ImageRefusedException.Reason.IN_USE,
            "in use: "
                + what
                + " ("
                + Holders.describe(path)
                + ")"
                + (mode == Mode.READ ? "; -U reads it without the lock" : ""));
      }
      return new ImageLock(b, h);
    } catch (LinuxFiles.UnsupportedLockException e) {
      b.close(h);
      return new ImageLock(Backend.NONE, null);
    } catch (IOException | RuntimeException e) {
      b.close(h);
      throw e;
    }
  }

  private static Backend backendFor(Path path) {
    if (path.getFileSystem() == FileSystems.getDefault() && LinuxFiles.available()) {
      return Backend.OFD;
    }
    return Backend.JVM;
  }

  /** The descriptor behind an OFD lock, or -1: opening {@code /proc/self/fd/N} reaches its file. */
  int descriptor() {
    return handle instanceof Integer fd ? fd : -1;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      backend.close(handle);
    }
  }

  /** Where locks live. */
  private interface Backend {
    Object open(Path path) throws IOException;

    void lockShared(Object h, long at) throws IOException;

    boolean lockedByOthers(Object h, long at) throws IOException;

    void close(Object h);

    Backend NONE =
        new Backend() {
          @Override
          public Object open(Path path) {
            return null;
          }

          @Override
          public void lockShared(Object h, long at) {}

          @Override
          public boolean lockedByOthers(Object h, long at) {
            return false;
          }

          @Override
          public void close(Object h) {}
        };

    Backend OFD =
        new Backend() {
          @Override
          public Object open(Path path) throws IOException {
            return LinuxFiles.open(path, false);
          }

          @Override
          public void lockShared(Object h, long at) throws IOException {
            LinuxFiles.set((Integer) h, LinuxFiles.F_RDLCK, at, 1);
          }

          @Override
          public boolean lockedByOthers(Object h, long at) throws IOException {
            return LinuxFiles.conflicts((Integer) h, LinuxFiles.F_WRLCK, at, 1);
          }

          @Override
          public void close(Object h) {
            LinuxFiles.close((Integer) h); // releases every lock of this open file
          }
        };

    /** Shared locks by byte, per opener, for files this JVM alone sees. */
    Backend JVM =
        new Backend() {
          private final Map<String, Map<Long, List<Object>>> table = new HashMap<>();

          private String key(Path p) {
            return p.getFileSystem().hashCode() + ":" + p.toAbsolutePath().normalize();
          }

          @Override
          public Object open(Path path) {
            return new Object[] {key(path)};
          }

          @Override
          public synchronized void lockShared(Object h, long at) {
            String k = (String) ((Object[]) h)[0];
            table
                .computeIfAbsent(k, x -> new HashMap<>())
                .computeIfAbsent(at, x -> new ArrayList<>())
                .add(h);
          }

          @Override
          public synchronized boolean lockedByOthers(Object h, long at) {
            String k = (String) ((Object[]) h)[0];
            List<Object> holders = table.getOrDefault(k, Map.of()).getOrDefault(at, List.of());
            return holders.stream().anyMatch(o -> o != h);
          }

          @Override
          public synchronized void close(Object h) {
            String k = (String) ((Object[]) h)[0];
            Map<Long, List<Object>> bytes = table.get(k);
            if (bytes != null) {
              bytes.values().forEach(l -> l.removeIf(o -> o == h));
              bytes.values().removeIf(List::isEmpty);
              if (bytes.isEmpty()) {
                table.remove(k);
              }
            }
          }
        };
  }
}
