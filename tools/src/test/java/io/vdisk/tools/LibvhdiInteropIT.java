package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libvhdi reads our dynamic images and chains. Chains are written in 4 KiB-aligned runs: libvhdi
 * misreads a bitmap byte with a set bit before a clear one (docs/reference/vhd-format-notes.md §0,
 * finding 4).
 */
class LibvhdiInteropIT {
  @TempDir Path dir;

  @Test
  void vhdiinfoSeesOurSizeTypeAndParent() throws Exception {
    String base = dir.resolve("base.vhd").toString();
    Cli.run("create", "--size", "1000M+512", base).ok();
    String out = Proc.ok(dir, "vhdiinfo", "base.vhd").out();
    assertThat(out).contains("Dynamic").contains("(1048576512 bytes)");
    Cli.run("snapshot", base, dir.resolve("child.vhd").toString()).ok();
    String child = Proc.ok(dir, "vhdiinfo", "child.vhd").out();
    assertThat(child).contains("Differential").contains("base.vhd");
    Cli.run("create", "--type", "fixed", "--size", "10M", dir.resolve("f.vhd").toString()).ok();
    assertThat(Proc.ok(dir, "vhdiinfo", "f.vhd").out())
        .contains("Fixed")
        .contains("(10485760 bytes)");
  }

  @Test
  void vhdimountReadsOurDynamicImageAndChain() throws Exception {
    String base = dir.resolve("base.vhd").toString();
    Cli.run("create", "--size", "64M", base).ok();
    Cli.run("io", base, "-c", "write -P 0x11 0 5M", "-c", "write -P 0x12 9M+4K 12K").ok();
    Cli.run("snapshot", base, dir.resolve("c1.vhd").toString()).ok();
    Cli.run(
            "io",
            dir.resolve("c1.vhd").toString(),
            "-c",
            "write -P 0x21 1M 8K",
            "-c",
            "write -P 0x22 2M-4K 8K")
        .ok();
    Cli.run("snapshot", dir.resolve("c1.vhd").toString(), dir.resolve("c2.vhd").toString()).ok();
    Cli.run(
            "io",
            dir.resolve("c2.vhd").toString(),
            "-c",
            "write -P 0x31 3M 64K",
            "-c",
            "write -z 4M 4K")
        .ok();
    Cli.run("convert", "-O", "raw", base, dir.resolve("base.raw").toString()).ok();
    Cli.run(
            "convert",
            "-O",
            "raw",
            dir.resolve("c2.vhd").toString(),
            dir.resolve("c2.raw").toString())
        .ok();

    assertThat(mountAndRead("base.vhd", "vhdi1"))
        .isEqualTo(Files.readAllBytes(dir.resolve("base.raw")));
    assertThat(mountAndRead("c2.vhd", "vhdi3"))
        .isEqualTo(Files.readAllBytes(dir.resolve("c2.raw")));
  }

  /** A coalesced chain: qemu and libvhdi read the merged dynamic base as the chain read. */
  @Test
  void coalescedChainReadsTheSameInQemuAndLibvhdi() throws Exception {
    String base = dir.resolve("base.vhd").toString();
    Cli.run("create", "--size", "32M", base).ok();
    Cli.run("io", base, "-c", "write -P 0x11 0 6M").ok();
    Cli.run("snapshot", base, dir.resolve("c1.vhd").toString()).ok();
    Cli.run(
            "io",
            dir.resolve("c1.vhd").toString(),
            "-c",
            "write -P 0x21 1M 8K",
            "-c",
            "write -P 0x22 10M 4K")
        .ok();
    Cli.run(
            "convert",
            "-O",
            "raw",
            dir.resolve("c1.vhd").toString(),
            dir.resolve("c1.raw").toString())
        .ok();
    Cli.run("coalesce", dir.resolve("c1.vhd").toString()).ok();
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "vpc", "c1.raw", "base.vhd");
    assertThat(mountAndRead("base.vhd", "vhdi1"))
        .isEqualTo(Files.readAllBytes(dir.resolve("c1.raw")));
    Cli.run("check", base).ok();
  }

  private byte[] mountAndRead(String image, String file) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + image));
    Proc.ok(dir, "vhdimount", image, mnt.toString());
    try {
      return Files.readAllBytes(mnt.resolve(file));
    } finally {
      Proc.run(dir, "fusermount", "-u", mnt.toString());
    }
  }
}
