package io.vdisk.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * SQLite's native library from a copy extracted once per user and driver version, in {@code
 * $XDG_CACHE_HOME/vdisk} (or {@code ~/.cache/vdisk}). Left alone, sqlite-jdbc extracts its library
 * to the temporary directory and compares it byte for byte with the copy there on every start
 * (about 0.05 s of every command that opens a catalog). The copy is written under a temporary name
 * and renamed, so a reader never sees half of it, and is used only while its length is the
 * library's; anything unusual (no home, an unwritable cache, a system property already set) leaves
 * the driver to its own way.
 */
public final class SqliteNative {
  private static volatile boolean prepared;

  private SqliteNative() {}

  /** Points sqlite-jdbc at the cached copy, extracting it first when it is missing. */
  public static void prepare() {
    if (prepared) {
      return;
    }
    synchronized (SqliteNative.class) {
      if (prepared) {
        return;
      }
      prepared = true;
      try {
        Path dir = cacheDir();
        if (dir == null || System.getProperty("org.sqlite.lib.path") != null) {
          return;
        }
        String folder = org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS();
        String name = System.mapLibraryName("sqlitejdbc");
        URL res =
            org.sqlite.SQLiteJDBCLoader.class.getResource(
                "/org/sqlite/native/" + folder + "/" + name);
        if (res == null) {
          return;
        }
        long length = res.openConnection().getContentLengthLong();
        Path libDir =
            dir.resolve("sqlite-" + org.sqlite.SQLiteJDBCLoader.getVersion()).resolve(folder);
        Path lib = libDir.resolve(name);
        if (!Files.isRegularFile(lib) || Files.size(lib) != length) {
          Files.createDirectories(libDir);
          Path tmp = Files.createTempFile(libDir, name, ".tmp");
          try (InputStream in = res.openStream()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE);
          } finally {
            Files.deleteIfExists(tmp);
          }
        }
        System.setProperty("org.sqlite.lib.path", libDir.toString());
        System.setProperty("org.sqlite.lib.name", name);
      } catch (IOException | RuntimeException e) {
        // the driver extracts its own copy, as it always did
      }
    }
  }

  private static Path cacheDir() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && xdg.startsWith("/")) {
      return Path.of(xdg, "vdisk");
    }
    String home = System.getProperty("user.home");
    return home == null || home.isEmpty() || home.equals("?")
        ? null
        : Path.of(home, ".cache", "vdisk");
  }
}
