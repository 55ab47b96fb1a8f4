package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Every way the engine changes files: opening and creating {@link Storage}, and the namespace
 * operations of multi-file work (rename, link, delete, small atomic files such as journals). Real
 * files in production; tests substitute providers that record or cut these operations to prove
 * crash safety across files.
 */
public interface StorageProvider {
  /** How a file is opened, and so which lock it holds while open ({@link ImageLock}). */
  enum Access {
    /** Read, holding a reader's lock: no writer may open the file meanwhile. */
    READ,
    /** Read and write, holding the writer's lock: no other opener at all. */
    WRITE,
    /**
     * Read without a lock ({@code -U}, qemu's {@code force-share}): for metadata scans (an SR's
     * tree, a directory's children) and for users who accept reading while another writes.
     */
    PEEK
  }

  Storage open(Path path, Access access) throws IOException;

  /** Opens with a reader's or a writer's lock. */
  default Storage open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly ? Access.READ : Access.WRITE);
  }

  /** Creates a new, empty file; fails if it exists. */
  Storage create(Path path) throws IOException;

  /** Atomically renames {@code from} to {@code to}, replacing it, and syncs the directory. */
  default void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    Directories.sync(to.toAbsolutePath().getParent());
  }

  /** Makes {@code link} a second name of {@code existing} (a hard link). */
  default void link(Path link, Path existing) throws IOException {
    Files.createLink(link, existing);
    Directories.sync(link.toAbsolutePath().getParent());
  }

  default void delete(Path path) throws IOException {
    if (Files.deleteIfExists(path)) {
      Directories.sync(path.toAbsolutePath().getParent());
    }
  }

  /** Writes a small file whole: under a temporary name, fsynced, then renamed over {@code path}. */
  default void writeAtomically(Path path, byte[] content) throws IOException {
    Path tmp = TempFiles.next(path, "new");
    Files.deleteIfExists(tmp);
    try (Storage s = create(tmp)) {
      s.write(java.nio.ByteBuffer.wrap(content), 0);
      s.force();
    }
    move(tmp, path);
  }

  /** Files on the default file system (or any NIO file system the path belongs to). */
  StorageProvider FILES =
      new StorageProvider() {
        @Override
        public Storage open(Path path, Access access) throws IOException {
          return FileStorage.open(path, access);
        }

        @Override
        public Storage create(Path path) throws IOException {
          return FileStorage.create(path);
        }
      };
}
