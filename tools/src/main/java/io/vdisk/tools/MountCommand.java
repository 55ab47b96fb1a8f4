package io.vdisk.tools;

import io.vdisk.fuse.DiskFs;
import io.vdisk.fuse.Mounts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "mount",
    description = {
      "Mount an image, a chain, an SR or an XVA with FUSE.",
      "Mount SOURCE on MOUNTPOINT with FUSE: an image or chain leaf shows one file, 'disk'; an SR directory one file per VDI, '<name-label>_<uuid>'; an uncompressed XVA one read-only file per disk, '<Ref-N>_<name-label>', served from the archive in place. Returns once the mount is ready, leaving a daemon (unless --foreground); end it with 'vdisk umount MOUNTPOINT' or 'fusermount -u MOUNTPOINT'."
    })
final class MountCommand extends VdiskCommand {
  @Option(names = "--read-only", description = "Mount read-only.")
  boolean readOnly;

  @Option(names = "--foreground", description = "Stay in the foreground until unmounted.")
  boolean foreground;

  @Option(names = "-o", paramLabel = "OPTION", description = "A FUSE mount option; repeatable.")
  List<String> options = new ArrayList<>();

  @Parameters(
      index = "0",
      paramLabel = "SOURCE",
      description = "An image or chain leaf, an SR directory, or an uncompressed XVA.")
  Path source;

  @Parameters(index = "1", paramLabel = "MOUNTPOINT", description = "An empty directory.")
  Path mountpoint;

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(mountpoint)) {
      throw new java.nio.file.NoSuchFileException(
          mountpoint.toString(), null, "mount point is not a directory");
    }
    if (isMounted(mountpoint.toAbsolutePath().normalize())) {
      throw new java.nio.file.FileSystemException(
          mountpoint.toString(),
          null,
          "is already a mount point; unmount it first (vdisk umount " + mountpoint + ")");
    }
    return foreground ? runForeground() : startDaemon();
  }

  private int runForeground() throws Exception {
    DiskFs fs = new DiskFs(Mounts.open(source, readOnly));
    List<String> fuseOpts =
        new ArrayList<>(
            List.of(
                "-o",
                "big_writes",
                "-o",
                "auto_unmount",
                "-o",
                "fsname=vdisk:" + source.getFileName(),
                "-o",
                "subtype=vdisk"));
    for (String o : options) {
      fuseOpts.add("-o");
      fuseOpts.add(o);
    }
    if (readOnly) {
      fuseOpts.addAll(List.of("-o", "ro"));
    }
    // libfuse's own SIGTERM/SIGINT handlers end the session; the loop returns after unmounting
    // and the images are flushed and closed here.
    try {
      if ("jnr".equals(System.getenv("VDISK_FUSE_LOOP"))) {
        fs.mount(mountpoint, true, false, fuseOpts.toArray(String[]::new)); // for comparison
      } else {
        fs.serve(mountpoint, fuseOpts, Math.max(2, Runtime.getRuntime().availableProcessors()));
      }
    } finally {
      fs.closeAll();
    }
    return ExitCode.OK;
  }

  /**
   * How long a daemon may take to mount before it is given up: a daemon that fails ends sooner (its
   * error is printed at once); only one that hangs waits this long.
   */
  private static final int MOUNT_WAIT_SECONDS = 60;

  /** Starts this command again with --foreground, detached, and waits until it has mounted. */
  private int startDaemon() throws Exception {
    Path abs = mountpoint.toAbsolutePath().normalize();
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    // The daemon runs with this JVM's options (the launcher's class-data archive, a heap or
    // compiler limit), or its start is the slow one: on a slow machine (the NFS lab's user-mode
    // Linux) that alone came near the deadline below. Not one-shot recordings or debug agents,
    // which would collide with this process's.
    for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-XX:ArchiveClassesAtExit")
          && !a.startsWith("-XX:StartFlightRecording")
          && !a.startsWith("-agent")
          && !a.startsWith("-javaagent")
          && !a.startsWith("-Xrunjdwp")
          && !a.startsWith("-Xdebug")) {
        cmd.add(a);
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.add("mount");
    cmd.add("--foreground");
    if (readOnly) {
      cmd.add("--read-only");
    }
    for (String o : options) {
      cmd.add("-o");
      cmd.add(o);
    }
    cmd.add(source.toAbsolutePath().toString());
    cmd.add(abs.toString());
    Path log = Files.createTempFile("vdisk-mount-", ".log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(MOUNT_WAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      if (isMounted(abs) && p.isAlive()) {
        out().println("mounted " + source + " on " + abs + " (daemon pid " + p.pid() + ")");
        Path disk = abs.resolve("disk");
        if (Files.isRegularFile(disk)) {
          printPartitions(disk);
        }
        return ExitCode.OK;
      }
      if (p.waitFor(100, TimeUnit.MILLISECONDS)) {
        String why = Files.readString(log, StandardCharsets.UTF_8).trim();
        err().println(why.isEmpty() ? "vdisk: mount failed (exit " + p.exitValue() + ")" : why);
        return p.exitValue() == 0 ? ExitCode.IO : p.exitValue();
      }
    }
    p.destroy();
    throw new java.io.IOException(
        abs + ": the mount did not appear within " + MOUNT_WAIT_SECONDS + " s (log: " + log + ")");
  }

  /**
   * What is inside a mounted image, from its partition table (MBR or GPT): each partition with the
   * read-only command that reaches it, so nobody has to work out offsets (or write to the disk to
   * find them).
   */
  private void printPartitions(Path disk) throws java.io.IOException {
    byte[] head;
    try (java.io.InputStream in = Files.newInputStream(disk)) {
      head = in.readNBytes(64 * 1024);
    }
    io.vdisk.engine.Partitions.Table t = io.vdisk.engine.Partitions.read(head, Files.size(disk));
    if (t.scheme() == null || t.partitions().isEmpty()) {
      out()
          .println(
              "no partition table on "
                  + disk
                  + ": look at it read-only first (fsck -n "
                  + disk
                  + ")");
      return;
    }
    out()
        .println(
            disk
                + ": "
                + t.scheme().toUpperCase(java.util.Locale.ROOT)
                + " partitions (all at once, read-only: losetup -r -P -f --show "
                + disk
                + ")");
    for (io.vdisk.engine.Partitions.Partition part : t.partitions()) {
      out()
          .printf(
              "  %d  %-20s %10s at %-12d mount -o ro,loop,offset=%d,sizelimit=%d %s /mnt/p%d%n",
              part.number(),
              part.type() + (part.name().isEmpty() ? "" : " (" + part.name() + ")"),
              Sizes.human(part.length()),
              part.offset(),
              part.offset(),
              part.length(),
              disk,
              part.number());
    }
  }

  static boolean isMounted(Path abs) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
      String[] f = line.split(" ", -1);
      if (f.length > 1 && f[1].replace("\\040", " ").equals(abs.toString())) {
        return true;
      }
    }
    return false;
  }
}
