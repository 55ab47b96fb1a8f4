package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Whether the locks vdisk takes on a directory reach every host that may use it. An SR shared by
 * hosts relies on byte-range locks the file server keeps; some mounts keep them on the client only,
 * and two hosts then change one SR together (a damaged catalog, a base written under a reader):
 *
 * <ul>
 *   <li>NFS with {@code nolock}, or {@code local_lock=} anything but {@code none};
 *   <li>SMB ({@code cifs}, {@code smb3}) with {@code nobrl};
 *   <li>any FUSE file system ({@code fuse.*}): whether its locks leave this host is its own affair
 *       (sshfs's and most others' do not).
 * </ul>
 *
 * Read from {@code /proc/self/mountinfo} at the moment of asking. A process that knows it is the
 * only host ({@code --single-host}) says so once at start-up, and the check is skipped.
 */
public final class SharedMounts {
  private static volatile boolean singleHost;

  private SharedMounts() {}

  /** Declares that no other host uses what this process opens (the command line's flag). */
  public static void setSingleHost(boolean b) {
    singleHost = b;
  }

  /** One line of mountinfo: where, what type, and its options (per-mount and super). */
  record Mount(String point, String type, List<String> options) {
    Optional<String> option(String name) {
      for (String o : options) {
        if (o.equals(name)) {
          return Optional.of("");
        }
        if (o.startsWith(name + "=")) {
          return Optional.of(o.substring(name.length() + 1));
        }
      }
      return Optional.empty();
    }
  }

  /**
   * Why locks on {@code dir} stay on this host, as a clause ("NFS mounted with nolock"), or empty
   * when they reach the server, the file system is local, or {@link #setSingleHost} was given.
   */
  public static Optional<String> localOnlyLocks(Path dir) {
    return singleHost ? Optional.empty() : mountOf(dir).flatMap(SharedMounts::reason);
  }

  /**
   * Why an SR cannot live on {@code dir} at all, or empty: SMB with byte-range locks, where
   * SQLite's locking of the catalog fails ({@code SQLITE_BUSY} at the first open, seen with the
   * Linux CIFS client and samba 4.17 under XenServer's options). With {@code nobrl} the locks stay
   * on the client, which {@link #localOnlyLocks} refuses unless there is a single host.
   */
  public static Optional<String> unsupported(Path dir) {
    return mountOf(dir).flatMap(SharedMounts::unsupported);
  }

  /** The mount holding {@code dir}, read from this process's mountinfo; empty when unreadable. */
  private static Optional<Mount> mountOf(Path dir) {
    try {
      return mountOf(
          parse(Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)),
          dir.toRealPath().toString());
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // no mountinfo (not Linux): nothing to say
    }
  }

  static Optional<String> unsupported(Mount m) {
    if ((m.type().equals("cifs") || m.type().equals("smb3")) && m.option("nobrl").isEmpty()) {
      return Optional.of("SMB (" + m.type() + ") at " + m.point());
    }
    return Optional.empty();
  }

  static Optional<String> reason(Mount m) {
    String t = m.type();
    if (t.equals("nfs") || t.equals("nfs4")) {
      if (m.option("nolock").isPresent()) {
        return Optional.of("NFS mounted with nolock at " + m.point());
      }
      Optional<String> local = m.option("local_lock");
      if (local.isPresent() && local.get().equals("all")) {
        // what nolock turns into: mountinfo shows local_lock=all
        return Optional.of("NFS mounted with nolock (local_lock=all) at " + m.point());
      }
      if (local.isPresent() && !local.get().equals("none")) {
        return Optional.of("NFS mounted with local_lock=" + local.get() + " at " + m.point());
      }
      return Optional.empty();
    }
    if ((t.equals("cifs") || t.equals("smb3")) && m.option("nobrl").isPresent()) {
      return Optional.of("SMB mounted with nobrl at " + m.point());
    }
    if (t.startsWith("fuse.") || t.equals("fuse") || t.equals("fuseblk")) {
      return Optional.of("a FUSE file system (" + t + ") at " + m.point());
    }
    return Optional.empty();
  }

  /** The mount holding {@code path}: the last listed one whose point is {@code path}'s prefix. */
  static Optional<Mount> mountOf(List<Mount> mounts, String path) {
    Mount best = null;
    for (Mount m : mounts) {
      String p = m.point();
      boolean under =
          path.equals(p) || p.equals("/") || path.startsWith(p.endsWith("/") ? p : p + "/");
      if (under && (best == null || p.length() >= best.point().length())) {
        best = m;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Parses mountinfo (proc(5)): fields 5 and 6, then after the "-" the type and super options. */
  static List<Mount> parse(String text) {
    List<Mount> out = new ArrayList<>();
    for (String line : text.split("\n", -1)) {
      String[] f = line.split(" ", -1);
      int dash = Arrays.asList(f).indexOf("-");
      if (f.length < 7 || dash < 6 || dash + 3 >= f.length) {
        continue;
      }
      List<String> options = new ArrayList<>(Arrays.asList(f[5].split(",", -1)));
      options.addAll(Arrays.asList(f[dash + 3].split(",", -1)));
      out.add(new Mount(unescape(f[4]), f[dash + 1], options));
    }
    return out;
  }

  /** Undoes mountinfo's octal escapes ({@code \040} for a space). */
  static String unescape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
