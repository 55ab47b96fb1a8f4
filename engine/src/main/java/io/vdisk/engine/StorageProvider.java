package io.vdisk.engine;

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
  Storage open(Path path, boolean readOnly) throws IOException;

  /** Creates a new, empty file; fails if it exists. */
  Storage create(Path path) throws IOException;

  /** Atomically renames {@code from} to {@code to}, replacing it, and syncs the directory. */
  default void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    Disks.syncDirectory(to.toAbsolutePath().getParent());
  }

  /** Makes {@code link} a second name of {@code existing} (a hard link). */
  default void link(Path link, Path existing) throws IOException {
    Files.createLink(link, existing);
    Disks.syncDirectory(link.toAbsolutePath().getParent());
  }

  default void delete(Path path) throws IOException {
    if (Files.deleteIfExists(path)) {
      Disks.syncDirectory(path.toAbsolutePath().getParent());
    }
  }

  /** Writes a small file whole: under a temporary name, fsynced, then renamed over {@code path}. */
  default void writeAtomically(Path path, byte[] content) throws IOException {
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
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
        public Storage open(Path path, boolean readOnly) throws IOException {
          return FileStorage.open(path, readOnly);
        }

        @Override
        public Storage create(Path path) throws IOException {
          return FileStorage.create(path);
        }
      };
}
