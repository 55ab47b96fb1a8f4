package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.vhd.Footer;
import io.vdisk.vhd.VhdLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 2040 GiB image whose BAT is full (every one of its 1,044,480 blocks allocated, as a sparse
 * file) opens, reads and checks in a JVM limited to 32 MiB of heap: opening reads BATs, not data,
 * and the chain's index stays a few MiB.
 */
class LargeImageIT {
  @TempDir Path dir;

  @Test
  void fullBatOf2040GiBNeedsLittleHeap() throws Exception {
    Path img = dir.resolve("big.vhd");
    Cli.run("create", "--size", "2040G", img.toString()).ok();
    int entries = (int) VhdLayout.blocksFor(VhdLayout.MAX_SIZE, VhdLayout.DEFAULT_BLOCK_SIZE);
    long span = 512 + VhdLayout.DEFAULT_BLOCK_SIZE;
    long first;
    Footer footer;
    try (FileChannel ch =
        FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer f = ByteBuffer.allocate(512);
      ch.read(f, 0);
      footer = Footer.parse(f.flip());
      long metaEnd = ch.size() - 512;
      first = (metaEnd + 512 + 4095) / 4096 * 4096 - 512;
      ByteBuffer bat = ByteBuffer.allocate(entries * 4);
      ByteBuffer bitmap = ByteBuffer.allocate(512);
      for (int i = 0; i < 512; i++) {
        bitmap.put(i, (byte) 0xFF);
      }
      // Every block allocated; bitmaps left as holes (all clear: reads as zeros), except the
      // last block's, which is full.
      for (int i = 0; i < entries; i++) {
        bat.putInt(i * 4, (int) ((first + i * span) / 512));
      }
      ch.write(bitmap, first + (long) (entries - 1) * span);
      ch.write(bat, 1536);
      long end = first + entries * span;
      ch.write(footer.toBuffer(), end);
      // One recognisable sector near the end of the disk.
      ByteBuffer mark = ByteBuffer.allocate(512);
      for (int i = 0; i < 512; i++) {
        mark.put(i, (byte) 0x42);
      }
      long lastData = first + (long) (entries - 1) * span + 512;
      ch.write(mark, lastData);
    }
    String jar =
        Path.of(System.getProperty("vdisk.jar", "target/vdisk-all.jar"))
            .toAbsolutePath()
            .toString();
    Proc info = Proc.ok(dir, "java", "-Xmx32m", "-jar", jar, "info", "--json", img.toString());
    assertThat(info.out()).contains("\"allocated-blocks\" : " + entries);
    long lastBlock = (long) (entries - 1) * VhdLayout.DEFAULT_BLOCK_SIZE;
    Proc.ok(
        dir,
        "java",
        "-Xmx32m",
        "-jar",
        jar,
        "io",
        "-r",
        img.toString(),
        "-c",
        "read -P 0x42 " + lastBlock + " 512",
        "-c",
        "read -P 0 " + (lastBlock + 512) + " 64K");
    Proc check = Proc.run(dir, "java", "-Xmx32m", "-jar", jar, "check", img.toString());
    assertThat(check.out()).contains("is clean");
    assertThat(Files.size(img)).isGreaterThan(2000L << 30);
  }

  /**
   * Headers that claim giant BATs in small sparse files: each is refused in one line with exit 5 in
   * a 64 MiB heap (before: exit 70 from an int overflow, an OutOfMemoryError trace, or 390 MB of
   * memory to refuse an 8 KiB file).
   */
  @Test
  void giantSparseBatsAreRefusedInBoundedMemory() throws Exception {
    String jar =
        Path.of(System.getProperty("vdisk.jar", "target/vdisk-all.jar"))
            .toAbsolutePath()
            .toString();
    long[][] cases = {
      {1L << 40, 512, 8192}, // 1 TiB in 512-byte blocks, in an 8 KiB file
      {VhdLayout.MAX_SIZE, 4096, 3L << 30}, // 2040 GiB in 4 KiB blocks, sparse, BAT inside
    };
    for (long[] c : cases) {
      Path img = dir.resolve("giant-" + c[1] + ".vhd");
      long entries = VhdLayout.blocksFor(c[0], (int) c[1]);
      io.vdisk.vhd.Footer f =
          io.vdisk.vhd.Footer.create(
              io.vdisk.vhd.DiskType.DYNAMIC, c[0], java.util.UUID.randomUUID(), 0, 512);
      io.vdisk.vhd.DynamicHeader h =
          io.vdisk.vhd.DynamicHeader.create(1536, (int) entries, (int) c[1]);
      try (FileChannel ch =
          FileChannel.open(
              img,
              StandardOpenOption.CREATE_NEW,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE)) {
        ch.write(f.toBuffer(), 0);
        ch.write(h.toBuffer(), 512);
        ch.write(f.toBuffer(), c[2] - 512); // sparse: the BAT region reads as zeros
      }
      for (String verb : new String[] {"info", "check", "map"}) {
        Proc p = Proc.run(dir, "java", "-Xmx64m", "-jar", jar, verb, img.toString());
        assertThat(p.exit()).as(verb + " " + img + ": " + p.out()).isEqualTo(ExitCode.UNSUPPORTED);
        assertThat(p.out().trim().lines()).as(p.out()).hasSize(1);
        assertThat(p.out()).contains("vdisk takes at most 4194304 blocks");
      }
    }
  }
}
