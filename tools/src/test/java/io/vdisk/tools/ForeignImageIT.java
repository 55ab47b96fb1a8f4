package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.ForeignImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes by vdisk into a dynamic image as tapdisk leaves it (blocks with partial sector bitmaps,
 * crafted byte by byte: blktap is not in Debian), read back by vdisk, qemu-img and vhdimount. The
 * partial runs are 4 KiB-aligned so that libvhdi's bitmap bug (docs/reference/vhd-format-notes.md
 * §0.4) stays out.
 */
class ForeignImageIT {
  private static final int MIB = 1 << 20;
  @TempDir Path dir;

  /** 8 MiB: block 0 sectors 8..15 hold 0x11, block 2 sectors 0..7 hold 0x22, the rest absent. */
  private byte[] tapImage(Path p) throws Exception {
    ForeignImage f =
        ForeignImage.dynamic(8L * MIB, 2 * MIB)
            .partialBlock(0, 8, 16, 0x11)
            .partialBlock(2, 0, 8, 0x22);
    f.writeTo(p);
    return f.contents(null);
  }

  private void assertEveryToolReads(Path img, byte[] model) throws Exception {
    Path ours = dir.resolve("ours.raw");
    Files.deleteIfExists(ours);
    Cli.run("convert", "-O", "raw", img.toString(), ours.toString()).ok();
    assertThat(Arrays.mismatch(Files.readAllBytes(ours), model))
        .as("vdisk: first wrong byte")
        .isEqualTo(-1);
    Path q = dir.resolve("qemu.raw");
    Files.deleteIfExists(q);
    Proc.ok(dir, "qemu-img", "convert", "-f", "vpc", "-O", "raw", img.toString(), q.toString());
    assertThat(Arrays.mismatch(Files.readAllBytes(q), model))
        .as("qemu-img: first wrong byte")
        .isEqualTo(-1);
    Path mnt = Files.createDirectories(dir.resolve("vhdimnt"));
    Proc.ok(dir, "vhdimount", img.toString(), mnt.toString());
    try {
      assertThat(Arrays.mismatch(Files.readAllBytes(mnt.resolve("vhdi1")), model))
          .as("vhdimount: first wrong byte")
          .isEqualTo(-1);
    } finally {
      Proc.run(dir, "fusermount", "-u", mnt.toString());
    }
    assertThat(Cli.run("check", img.toString()).exit()).as("check").isZero();
  }

  @Test
  void ioWritesIntoPartialBitmapBlocksAreReadByEveryTool() throws Exception {
    Path img = dir.resolve("tap.vhd");
    byte[] model = tapImage(img);
    assertEveryToolReads(img, model);
    // Into block 0's clear sectors (before and after its present run), and over block 2's.
    Cli.run(
            "io",
            img.toString(),
            "-c",
            "write -P 0x44 0 4K",
            "-c",
            "write -P 0x45 64K 60K",
            "-c",
            "write -P 0x46 4M+4K 8K")
        .ok();
    Arrays.fill(model, 0, 4096, (byte) 0x44);
    Arrays.fill(model, 64 << 10, 124 << 10, (byte) 0x45);
    Arrays.fill(model, 4 * MIB + 4096, 4 * MIB + 12288, (byte) 0x46);
    assertEveryToolReads(img, model);
  }

  /**
   * {@code convert -n} into a tapdisk image: the source's data lands in and beside the
   * partial-bitmap blocks, and the source's zeros replace the data the image held (block 0's and
   * block 2's present runs), read back by every tool.
   */
  @Test
  void convertIntoAPartialBitmapImageIsReadByEveryTool() throws Exception {
    Path img = dir.resolve("tap.vhd");
    tapImage(img);
    byte[] src = new byte[8 * MIB];
    Arrays.fill(src, 64 << 10, 1 * MIB, (byte) 0x55);
    Arrays.fill(src, 4 * MIB + 512 * 1024, 5 * MIB, (byte) 0x66);
    Path raw = Files.write(dir.resolve("src.raw"), src);
    Cli.run("convert", "-n", "-O", "vpc", raw.toString(), img.toString()).ok();
    assertEveryToolReads(img, src);
  }

  /**
   * A delta imported onto a VDI that XenServer made (the tapdisk image adopted by sr-create):
   * written in place into its partial-bitmap blocks, and read back by every tool.
   */
  @Test
  void deltaImportIntoPartialBitmapBlocksIsReadByEveryTool() throws Exception {
    String src = dir.resolve("src").toString();
    Cli.run("sr-create", "--sr", src).ok();
    String vdi =
        Cli.run("vdi-create", "--sr", src, "name-label=d", "virtual-size=8MiB").ok().out().trim();
    String snap = Cli.run("vdi-snapshot", "--sr", src, "uuid=" + vdi).ok().out().trim();
    String leaf = Path.of(src).resolve(vdi + ".vhd").toString();
    Cli.run("io", leaf, "-c", "write -P 0x51 0 4K", "-c", "write -P 0x52 4M+8K 4K").ok();
    Path delta = dir.resolve("delta.vhd");
    Cli.run(
            "vdi-export",
            "--sr",
            src,
            "uuid=" + vdi,
            "base=" + snap,
            "format=vhd",
            "filename=" + delta)
        .ok();

    Path xen = Files.createDirectories(dir.resolve("xen"));
    String target = java.util.UUID.randomUUID().toString();
    Path img = xen.resolve(target + ".vhd");
    byte[] model = tapImage(img);
    Cli.run("sr-create", "--sr", xen.toString()).ok();
    Cli.run(
            "vdi-import",
            "--sr",
            xen.toString(),
            "uuid=" + target,
            "filename=" + delta,
            "format=vhd",
            "force=true")
        .ok();
    Arrays.fill(model, 0, 4096, (byte) 0x51); // over block 0's clear sectors
    Arrays.fill(model, 4 * MIB + 8192, 4 * MIB + 12288, (byte) 0x52); // beside block 2's run
    assertEveryToolReads(img, model);
  }

  @Test
  void fuseWritesIntoPartialBitmapBlocksAreReadByEveryTool() throws Exception {
    Path img = dir.resolve("tap.vhd");
    byte[] model = tapImage(img);
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Proc p = Proc.run(dir, Cli.ownJvm("mount", img.toString(), mnt.toString()));
    assertThat(p.exit()).as(p.out()).isZero();
    try {
      Proc.ok(
          dir,
          "sh",
          "-c",
          "printf 'hello foreign image' | dd of="
              + mnt.resolve("disk")
              + " bs=1 seek=20000"
              + " conv=notrunc,fsync status=none");
    } finally {
      Proc.ok(dir, "fusermount", "-u", mnt.toString());
    }
    byte[] text = "hello foreign image".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(text, 0, model, 20000, text.length);
    // The daemon flushes and closes the image after the kernel lets go.
    for (int i = 0; i < 100; i++) {
      TimeUnit.MILLISECONDS.sleep(100);
      if (Cli.run("check", img.toString()).exit() == 0) {
        break;
      }
    }
    assertEveryToolReads(img, model);
  }

  @Test
  void nbdWritesIntoPartialBitmapBlocksAreReadByEveryTool() throws Exception {
    Path img = dir.resolve("tap.vhd");
    byte[] model = tapImage(img);
    Path sock = dir.resolve("s.sock");
    Path out = dir.resolve("serve.out");
    Process server =
        new ProcessBuilder(Cli.ownJvm("serve", "--listen", "unix:" + sock, img.toString()))
            .redirectOutput(out.toFile())
            .redirectErrorStream(true)
            .start();
    try {
      for (int i = 0; i < 600 && (!Files.exists(out) || Files.size(out) == 0); i++) {
        TimeUnit.MILLISECONDS.sleep(50);
      }
      // Around block 0's present run, zeroes over part of it, and over block 2's run.
      Proc.ok(
          dir,
          "qemu-io",
          "-f",
          "raw",
          "-c",
          "write -P 0x51 2K 2K",
          "-c",
          "write -z 5K 2K",
          "-c",
          "write -P 0x52 4196352 4K",
          "-c",
          "flush",
          "nbd+unix:///tap.vhd?socket=" + sock);
    } finally {
      server.destroy(); // SIGTERM: the image is flushed and closed
      assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    Arrays.fill(model, 2048, 4096, (byte) 0x51);
    Arrays.fill(model, 5120, 7168, (byte) 0);
    Arrays.fill(model, 4 * MIB + 2048, 4 * MIB + 6144, (byte) 0x52);
    assertEveryToolReads(img, model);
  }
}
