package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The names of files being written before they are published ({@link Publisher}), and the sweep
 * that removes the ones a killed process left: {@code
 * .<name>.<tag>.<pid>-<start>@<host>.vdisk-tmp}. A temporary file is stale when its writer is gone:
 * the same host, and no live process with that pid and start time (pid reuse cannot fool it), and
 * no lock on the file. Files of other hosts sharing the directory are left to their own host.
 */
public final class TempFiles {
  public static final String SUFFIX = ".vdisk-tmp";
  private static final String OWNER = owner(ProcessHandle.current());

  private TempFiles() {}

  /** A temporary name beside {@code target}, owned by this process. */
  public static Path next(Path target, String tag) {
    return target.resolveSibling("." + target.getFileName() + "." + tag + "." + OWNER + SUFFIX);
  }

  /** True when {@code p} is one of these temporary files, whoever owns it. */
  public static boolean isTemp(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith(".") && n.endsWith(SUFFIX);
  }

  /** Removes the stale temporary files of {@code dir}; returns how many. */
  public static int sweep(StorageProvider p, Path dir) throws IOException {
    int n = 0;
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*" + SUFFIX)) {
      for (Path f : ds) {
        if (stale(f)) {
          p.delete(f);
          n++;
        }
      }
    }
    return n;
  }

  static boolean stale(Path f) {
    String n = f.getFileName().toString();
    String rest = n.substring(0, n.length() - SUFFIX.length());
    int dot = rest.lastIndexOf('.');
    String owner = dot < 0 ? "" : rest.substring(dot + 1);
    int at = owner.indexOf('@');
    int dash = owner.indexOf('-');
    if (at < 0 || dash < 0 || dash > at || !owner.substring(at + 1).equals(host())) {
      return false;
    }
    long pid;
    try {
      pid = Long.parseLong(owner.substring(0, dash));
    } catch (NumberFormatException e) {
      return false;
    }
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isPresent() && h.get().isAlive() && owner(h.get()).equals(owner)) {
      return false;
    }
    try (ImageLock probe = ImageLock.acquire(f, ImageLock.Mode.WRITE)) {
      return true;
    } catch (IOException e) {
      return false; // someone has it open
    }
  }

  private static String owner(ProcessHandle h) {
    long start = h.info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
    return h.pid() + "-" + start + "@" + host();
  }

  private static String host() {
    return Holders.host().replaceAll("[^A-Za-z0-9_-]", "_");
  }
}
