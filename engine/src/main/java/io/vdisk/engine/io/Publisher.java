package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes a file appear whole or not at all: it is written under a temporary name in the same
 * directory ({@link TempFiles}), made durable by the writer, then renamed over its name, and the
 * directory fsynced ({@link StorageProvider#move}). A failure (a cancellation included) removes the
 * temporary file; a crash may leave it, and the next publish into that directory removes it once
 * its writer is gone. The one way vdisk makes a file appear.
 */
public final class Publisher {
  /** Writes the whole file at {@code tmp}, durably (fsync). */
  @FunctionalInterface
  public interface Writer<T> {
    T writeTo(Path tmp) throws IOException;
  }

  private Publisher() {}

  public static <T> T publish(
      StorageProvider p, Path path, String tag, boolean replace, Writer<T> writer)
      throws IOException {
    if (!replace && Files.exists(path)) {
      throw new FileAlreadyExistsException(
          path.toString(), null, "already exists; remove it first");
    }
    Path dir = path.toAbsolutePath().normalize().getParent();
    TempFiles.sweep(p, dir);
    Path tmp = TempFiles.next(path, tag);
    p.delete(tmp);
    try {
      T result = writer.writeTo(tmp);
      if (!replace && Files.exists(path)) {
        throw new FileAlreadyExistsException(path.toString(), null, "appeared while writing");
      }
      p.move(tmp, path);
      return result;
    } catch (IOException | RuntimeException e) {
      try {
        p.delete(tmp);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }
}
