package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Who holds byte-range locks on a file, for messages: every process whose open descriptor of that
 * file carries a lock ({@code /proc/PID/fdinfo/FD} lists them, for OFD and POSIX locks alike), with
 * its command line. Read from the kernel at the moment of asking, so never stale; a holder on
 * another NFS host, or in a process this user may not inspect, is not visible here.
 */
public final class Holders {
  private static final int MAX_COMMAND = 120;

  private Holders() {}

  /** This host's name, as the kernel has it (no DNS lookup). */
  public static String host() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.US_ASCII)
          .trim();
    } catch (IOException | RuntimeException e) {
      return "localhost";
    }
  }

  /** This process as other hosts should see it in a lock's holder text. */
  public static String self(String purpose) {
    return "host "
        + host()
        + " pid "
        + ProcessHandle.current().pid()
        + ": vdisk "
        + Printable.of(purpose)
        + " since "
        + java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
  }

  /** Holders of an OFD or POSIX lock on {@code file} seen from here, or an empty list. */
  public static List<String> local(Path file) {
    return find(file);
  }

  /** "pid 123 (vdisk mount a.vhd /mnt), pid 456 (qemu-io ...)", or a sentence when none is seen. */
  static String describe(Path file) {
    List<String> found = find(file);
    if (found.isEmpty()) {
      return "the holder is not visible from here: another host on a shared file system, or"
          + " another user's process";
    }
    return String.join(", ", found);
  }

  static List<String> find(Path file) {
    Set<String> out = new LinkedHashSet<>();
    if (file.getFileSystem() != FileSystems.getDefault()) {
      out.add("pid " + ProcessHandle.current().pid() + " (this process)");
      return new ArrayList<>(out);
    }
    Object ino;
    try {
      ino = Files.getAttribute(file, "unix:ino");
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return List.of();
    }
    long self = ProcessHandle.current().pid();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        if (holds(proc, file, "\t" + ino)) {
          long pid = Long.parseLong(proc.getFileName().toString());
          out.add("pid " + pid + " (" + (pid == self ? "this process" : command(proc)) + ")");
        }
      }
    } catch (IOException | RuntimeException e) {
      // /proc unreadable: say what was found so far
    }
    return new ArrayList<>(out);
  }

  private static boolean holds(Path proc, Path file, String inoField) {
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fdinfo"))) {
      for (Path info : fds) {
        String text;
        try {
          text = Files.readString(info, StandardCharsets.US_ASCII);
        } catch (IOException e) {
          continue;
        }
        if (!text.contains("lock:") || !text.contains("ino:" + inoField + "\n")) {
          continue;
        }
        Path fd = proc.resolve("fd").resolve(info.getFileName().toString());
        try {
          if (Files.isSameFile(fd, file)) {
            return true;
          }
        } catch (IOException e) {
          // gone meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
    return false;
  }

  /** The command line, as "vdisk VERB ..." for a vdisk JVM, printable characters only. */
  static String command(Path proc) {
    try {
      byte[] raw = Files.readAllBytes(proc.resolve("cmdline"));
      String[] argv = new String(raw, StandardCharsets.UTF_8).split("\0", -1);
      int start = 0;
      String prog = argv.length == 0 ? "?" : Path.of(argv[0]).getFileName().toString();
      for (int i = 0; i < argv.length; i++) {
        if (argv[i].equals("io.vdisk.tools.Main") || argv[i].endsWith("vdisk-all.jar")) {
          prog = "vdisk";
          start = i;
        }
      }
      StringBuilder sb = new StringBuilder(prog);
      for (int i = start + 1; i < argv.length; i++) {
        sb.append(' ').append(argv[i]);
      }
      return Printable.of(
          sb.length() > MAX_COMMAND ? sb.substring(0, MAX_COMMAND) + "..." : sb.toString());
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
