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
}
