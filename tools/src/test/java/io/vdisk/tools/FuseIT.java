package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real FUSE mounts: mkfs and fsck through them, chains, SRs, XVAs, and kill -9 of the daemon. */
class FuseIT {
  @TempDir Path dir;
  private final List<Path> mounts = new java.util.ArrayList<>();

  private Proc vdisk(String... args) throws Exception {
    return Proc.run(dir, Cli.ownJvm(args));
  }

  private Path mount(String source, String... extra) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + mounts.size()));
    String[] args = new String[extra.length + 3];
    args[0] = "mount";
    System.arraycopy(extra, 0, args, 1, extra.length);
    args[extra.length + 1] = source;
    args[extra.length + 2] = mnt.toString();
    Proc p = vdisk(args);
    assertThat(p.exit()).as(p.out()).isZero();
    mounts.add(mnt);
    return mnt;
  }

  private void umount(Path mnt) throws Exception {
    Proc p = vdisk("umount", mnt.toString());
    assertThat(p.exit()).as(p.out()).isZero();
    mounts.remove(mnt);
    for (int i = 0; i < 100 && MountCommand.isMounted(mnt.toAbsolutePath()); i++) {
      Thread.sleep(50);
    }
    Thread.sleep(300); // the daemon closes its images after the kernel lets go
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (Path m : mounts) {
      Proc.run(dir, "fusermount", "-u", "-z", m.toString());
    }
  }

  private void mkfsAndWrite(Path disk) throws Exception {
    Proc.ok(dir, "mkfs.ext4", "-q", "-F", disk.toString());
    Proc.ok(dir, "fsck.ext4", "-f", "-n", disk.toString());
    Files.writeString(dir.resolve("hello.txt"), "hello from vdisk\n");
    Proc.ok(
        dir,
        "debugfs",
        "-w",
        "-R",
        "write " + dir.resolve("hello.txt") + " hello.txt",
        disk.toString());
  }

  private void readBack(Path disk) throws Exception {
    Proc.ok(dir, "fsck.ext4", "-f", "-n", disk.toString());
    String cat = Proc.ok(dir, "debugfs", "-R", "cat hello.txt", disk.toString()).out();
    assertThat(cat).contains("hello from vdisk");
  }

  /** Mounting prints each partition sfdisk made, with the read-only command reaching it. */
  @Test
  void mountListsThePartitionsOfMbrAndGptImages() throws Exception {
    for (String label : new String[] {"gpt", "dos"}) {
      Path raw = dir.resolve(label + ".raw");
      Proc.ok(dir, "truncate", "-s", "64M", raw.toString());
      Proc.ok(
          dir,
          "sh",
          "-c",
          "printf 'label: " + label + "\\n,16M,L\\n,8M,S\\n,,L\\n' | sfdisk -q " + raw);
      Cli.run("convert", "-O", "vpc", raw.toString(), dir.resolve(label + ".vhd").toString()).ok();
      Path mnt = Files.createDirectories(dir.resolve("mnt-" + label));
      Proc p =
          vdisk("mount", "--read-only", dir.resolve(label + ".vhd").toString(), mnt.toString());
      assertThat(p.exit()).as(p.out()).isZero();
      mounts.add(mnt);
      assertThat(p.out()).contains((label.equals("gpt") ? "GPT" : "MBR") + " partitions");
      JsonNode table =
          new com.fasterxml.jackson.databind.ObjectMapper()
              .readTree(Proc.ok(dir, "sfdisk", "--json", raw.toString()).out())
              .get("partitiontable")
              .get("partitions");
      assertThat(table).hasSize(3);
      for (int i = 0; i < 3; i++) {
        long start = table.get(i).get("start").asLong() * 512;
        long size = table.get(i).get("size").asLong() * 512;
        assertThat(p.out())
            .as(label + " partition " + (i + 1))
            .contains(
                "mount -o ro,loop,offset="
                    + start
                    + ",sizelimit="
                    + size
                    + " "
                    + mnt.resolve("disk")
                    + " /mnt/p"
                    + (i + 1));
      }
      assertThat(p.out()).contains("Linux swap");
      umount(mnt);
    }
  }

  @Test
  void mkfsFsckAndFilesSurviveARemount() throws Exception {
    String img = dir.resolve("a.vhd").toString();
    Cli.run("create", "--size", "256M", img).ok();
    Path m = mount(img);
    mkfsAndWrite(m.resolve("disk"));
    umount(m);
    Cli.run("check", img).ok();
    Path again = mount(img, "--read-only");
    readBack(again.resolve("disk"));
    umount(again);
  }

  @Test
  void aDepth3ChainMountsReadWrite() throws Exception {
    String base = dir.resolve("base.vhd").toString();
    Cli.run("create", "--size", "128M", base).ok();
    Path m = mount(base);
    mkfsAndWrite(m.resolve("disk"));
    umount(m);
    Cli.run("snapshot", base, dir.resolve("c1.vhd").toString()).ok();
    Cli.run("snapshot", dir.resolve("c1.vhd").toString(), dir.resolve("c2.vhd").toString()).ok();
    Path leaf = mount(dir.resolve("c2.vhd").toString());
    readBack(leaf.resolve("disk"));
    Files.writeString(dir.resolve("hello.txt"), "second file\n");
    Proc.ok(
        dir,
        "debugfs",
        "-w",
        "-R",
        "write " + dir.resolve("hello.txt") + " two.txt",
        leaf.resolve("disk").toString());
    umount(leaf);
    Cli.run("check", dir.resolve("c2.vhd").toString()).ok();
    Cli.run(
            "convert",
            "-O",
            "raw",
            dir.resolve("c2.vhd").toString(),
            dir.resolve("c2.raw").toString())
        .ok();
    assertThat(Proc.ok(dir, "debugfs", "-R", "cat two.txt", dir.resolve("c2.raw").toString()).out())
        .contains("second file");
    // A parent with children is never mounted for writing (the engine's WriteRule), only read.
    Path mnt = Files.createDirectories(dir.resolve("mnt-parent"));
    Proc refused = vdisk("mount", base, mnt.toString());
    assertThat(refused.exit()).as(refused.out()).isEqualTo(ExitCode.REFUSED);
    assertThat(refused.out()).contains("is the parent of c1.vhd");
    Path ro = mount(base, "--read-only");
    assertThat(Files.getPosixFilePermissions(ro.resolve("disk")))
        .doesNotContain(java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                Files.newOutputStream(ro.resolve("disk"), java.nio.file.StandardOpenOption.WRITE)
                    .close())
        .hasMessageContaining("Read-only file system");
    umount(ro);
  }

  @Test
  void anXvaAndAnSrMountShowTheirDisks() throws Exception {
    String sr = dir.resolve("sr").toString();
    String disk =
        Cli.run("vdi-create", "--sr", sr, "name-label=root", "virtual-size=8M").ok().out().trim();
    Cli.run(
            "io",
            dir.resolve("sr").resolve(disk + ".vhd").toString(),
            "-c",
            "write -P 0x42 1M 64K",
            "-c",
            "write -P 0x43 7M 512")
        .ok();
    String vm = Cli.run("vm-create", "--sr", sr, "name-label=web").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0").ok();
    Cli.run("vm-export", "--sr", sr, "vm=web", "filename=" + dir.resolve("web.xva")).ok();
    Cli.run(
            "convert",
            "-O",
            "raw",
            dir.resolve("sr").resolve(disk + ".vhd").toString(),
            dir.resolve("root.raw").toString())
        .ok();

    Path x = mount(dir.resolve("web.xva").toString());
    List<Path> files;
    try (var s = Files.list(x)) {
      files = s.toList();
    }
    assertThat(files).hasSize(1);
    assertThat(files.get(0).getFileName().toString()).endsWith("_root");
    assertThat(Files.readAllBytes(files.get(0)))
        .isEqualTo(Files.readAllBytes(dir.resolve("root.raw")));
    umount(x);

    Path s = mount(sr);
    assertThat(Files.readAllBytes(s.resolve("root_" + disk)))
        .isEqualTo(Files.readAllBytes(dir.resolve("root.raw")));
    Proc busy = vdisk("vdi-snapshot", "--no-wait", "--sr", sr, "uuid=" + disk);
    assertThat(busy.exit()).as("a mounted VDI is locked").isEqualTo(ExitCode.REFUSED);
    umount(s);
    Path gz = dir.resolve("web.xva.gz");
    Cli.run("vm-export", "--sr", sr, "vm=web", "filename=" + gz, "compress=gzip").ok();
    Path m2 = Files.createDirectories(dir.resolve("mnt-gz"));
    Proc refused = vdisk("mount", gz.toString(), m2.toString());
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.out()).contains("gzip-compressed XVA: decompress it first (gunzip)");
    Path lz = dir.resolve("web.xva.lz4");
    Cli.run("vm-export", "--sr", sr, "vm=web", "filename=" + lz, "compress=lz4").ok();
    Proc refusedLz4 = vdisk("mount", lz.toString(), m2.toString());
    assertThat(refusedLz4.exit()).isNotZero();
    assertThat(refusedLz4.out()).contains("lz4-compressed XVA: decompress it first (lz4 -d)");
  }

  @Test
  void fioWithVerificationOnAMountedChain() throws Exception {
    String base = dir.resolve("fb.vhd").toString();
    Cli.run("create", "--size", "128M", base).ok();
    Cli.run("io", base, "-c", "write -P 0x77 0 32M").ok();
    String leaf = dir.resolve("fl.vhd").toString();
    Cli.run("snapshot", base, leaf).ok();
    Path m = mount(leaf);
    Proc fio =
        Proc.run(
            dir,
            "fio",
            "--name=verify",
            "--filename=" + m.resolve("disk"),
            "--rw=randrw",
            "--bs=4k",
            "--size=64M",
            "--numjobs=2",
            "--offset_increment=64M",
            "--direct=0",
            "--ioengine=psync",
            "--verify=crc32c",
            "--verify_fatal=1",
            "--do_verify=1",
            "--fsync=64",
            "--group_reporting",
            "--io_size=16M");
    assertThat(fio.exit()).as(fio.out()).isZero();
    assertThat(fio.out()).doesNotContain("verify: bad");
    umount(m);
    Cli.run("check", leaf).ok();
  }

  @Test
  void killMinus9LeavesAnImageThatOpensWithEveryFsyncedWrite() throws Exception {
    String img = dir.resolve("k.vhd").toString();
    Cli.run("create", "--size", "64M", img).ok();
    Path m = mount(img);
    Proc.ok(
        dir,
        "dd",
        "if=/dev/urandom",
        "of=" + dir.resolve("data.bin"),
        "bs=1M",
        "count=8",
        "status=none");
    Proc.ok(
        dir,
        "dd",
        "if=" + dir.resolve("data.bin"),
        "of=" + m.resolve("disk"),
        "bs=1M",
        "seek=3",
        "conv=fsync,notrunc",
        "status=none");
    // [m]: the pattern must not match the sh that runs pgrep (after pid wrap-around it may be
    // first)
    String pid =
        Proc.ok(dir, "sh", "-c", "pgrep -f '[m]ount --foreground .*k.vhd'")
            .out()
            .trim()
            .split("\\s+", -1)[0];
    Proc.run(
        dir,
        "dd",
        "if=/dev/urandom",
        "of=" + m.resolve("disk"),
        "bs=1M",
        "seek=20",
        "count=4",
        "conv=notrunc",
        "status=none");
    Proc.ok(dir, "kill", "-9", pid);
    for (int i = 0; i < 100 && MountCommand.isMounted(m.toAbsolutePath()); i++) {
      Thread.sleep(100);
    }
    assertThat(MountCommand.isMounted(m.toAbsolutePath()))
        .as("auto_unmount removes a dead mount")
        .isFalse();
    mounts.remove(m);
    Cli.run("check", "--repair", img).ok();
    Cli.run("convert", "-O", "raw", img, dir.resolve("after.raw").toString()).ok();
    byte[] after = Files.readAllBytes(dir.resolve("after.raw"));
    byte[] data = Files.readAllBytes(dir.resolve("data.bin"));
    assertThat(java.util.Arrays.copyOfRange(after, 3 << 20, (3 << 20) + data.length))
        .isEqualTo(data);
    TimeUnit.MILLISECONDS.sleep(1);
  }
}
