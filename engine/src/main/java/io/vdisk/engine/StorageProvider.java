package io.vdisk.engine;

import java.io.IOException;
import java.nio.file.Path;

/** Opens and creates {@link Storage}: real files in production, fault-injecting ones in tests. */
public interface StorageProvider {
  Storage open(Path path, boolean readOnly) throws IOException;

  /** Creates a new, empty file; fails if it exists. */
  Storage create(Path path) throws IOException;

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
