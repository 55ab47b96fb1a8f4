package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;

/**
 * Cuts the writes of block allocation, bitmap updates and flush at every point and reopens: the
 * image opens, passes check after repair, and every sector reads as its old or its new contents,
 * never anything else. Writes acknowledged by a completed flush are never lost.
 */
class CrashTest {

  /**
   * {@code dynamic} and {@code differencing} are vdisk's own images; {@code tap} is a dynamic image
   * as tapdisk leaves it (partial sector bitmaps, crafted byte by byte), where the scenario's
   * writes land in partly present blocks and must set their bits.
   */
  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> cases() {
    java.util.List<org.junit.jupiter.params.provider.Arguments> out = new java.util.ArrayList<>();
    for (int block : new int[] {512, 4096, 65536}) {
      for (String kind : new String[] {"dynamic", "differencing", "tap"}) {
        out.add(org.junit.jupiter.params.provider.Arguments.of(kind, block));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}, block {1}")
  @org.junit.jupiter.params.provider.MethodSource("cases")
  void everyCutLeavesOldOrNewData(String kind, int block) throws Exception {
    // Writes at fixed offsets in units of 4 KiB: with 512 B blocks each spans many blocks, with
    // 64 KiB blocks many writes share one (the jimfs matrix: small blocks find edges cheaply).
    final int BLOCK = 4096;
    final int SIZE = Math.max(BLOCK * 16, block * 4);
    boolean differencing = kind.equals("differencing");
    try (FileSystem fs = TestDisks.memoryFs()) {
      Path dir = TestDisks.dir(fs);
      Path base = dir.resolve("base.vhd");
      if (kind.equals("tap")) {
        int spb = block / 512;
        ForeignImage f = ForeignImage.dynamic(SIZE, block);
        for (int b = 0; b < SIZE / block; b += 3) {
          f.partialBlock(b, (b * 7) % spb, Math.min(spb, (b * 7) % spb + 1 + b % 3), 0x11 + b);
        }
        f.writeTo(base);
      } else {
        TestDisks.dynamic(base, SIZE, block);
        try (DiskChain d = DiskChain.open(base, false)) {
          d.write(0, TestDisks.filled(3 * BLOCK, 0x11)); // blocks 0..2 allocated and full
        }
      }
      Path image = base;
      if (differencing) {
        image = dir.resolve("child.vhd");
        Snapshots.createChild(base, image);
        try (DiskChain d = DiskChain.open(image, false)) {
          d.write(BLOCK + 512, TestDisks.filled(1024, 0x22)); // partial block in the child
        }
      }
      byte[] before = Files.readAllBytes(image);
      byte[] oldView = TestDisks.readAll(image);

      // The scenario: allocate new blocks, partial writes, rewrites; flush; more; close.
      RecordingStorage rec = new RecordingStorage(image);
      byte[] newView = oldView.clone();
      int acknowledgedOps;
      byte[] acknowledgedView;
      try (DiskChain d = DiskChain.open(image, false, rec)) {
        write(d, newView, 5 * BLOCK + 512, 1536, 0x33); // new block, partial
        write(d, newView, BLOCK + 1024, 2048, 0x44); // existing block
        write(d, newView, 9 * BLOCK, 2 * BLOCK, 0x55); // two new full blocks
        d.flush();
        acknowledgedOps = rec.ops.size();
        acknowledgedView = newView.clone();
        write(d, newView, 12 * BLOCK + 100, 700, 0x66); // unaligned, new block
        write(d, newView, 0, 512, 0x77);
      }
      assertThat(TestDisks.readAll(image)).isEqualTo(newView);

      Random rnd = new Random(42);
      for (int cut = 0; cut <= rec.ops.size(); cut++) {
        for (int model = 0; model < 2; model++) {
          byte[] file =
              model == 0 ? rec.afterKill(before, cut) : rec.afterPowerLoss(before, cut, rnd);
          Files.write(image, file);
          String where =
              (model == 0 ? "kill" : "power loss") + " at op " + cut + " of " + rec.ops.size();
          byte[] seen = TestDisks.readAll(image);
          assertThat(TestDisks.transferAll(image))
              .as(where + ": a server's transfer sends what a read reads")
              .isEqualTo(seen);
          assertOldOrNew(seen, oldView, newView, acknowledgedView, cut >= acknowledgedOps, where);
          List<Finding> findings = ImageChecker.check(image);
          assertThat(findings)
              .as(where)
              .allMatch(f -> f.repairable() || f.severity() == Finding.Severity.WARNING);
          ImageChecker.repair(image);
          assertThat(ImageChecker.check(image)).as(where + ", after repair").isEmpty();
          assertThat(TestDisks.readAll(image)).as(where + ", after repair").isEqualTo(seen);
        }
      }
    }
  }

  private static void assertOldOrNew(
      byte[] seen, byte[] old, byte[] neu, byte[] acked, boolean afterAck, String where) {
    for (int s = 0; s < seen.length; s += 512) {
      byte[] sector = java.util.Arrays.copyOfRange(seen, s, s + 512);
      boolean isOld =
          java.util.Arrays.equals(sector, java.util.Arrays.copyOfRange(old, s, s + 512));
      boolean isNew =
          java.util.Arrays.equals(sector, java.util.Arrays.copyOfRange(neu, s, s + 512));
      boolean isAcked =
          java.util.Arrays.equals(sector, java.util.Arrays.copyOfRange(acked, s, s + 512));
      if (afterAck) {
        // After the flush returned, a sector is what was acknowledged, or newer.
        assertThat(isAcked || isNew)
            .as("%s: sector %d lost an acknowledged write", where, s / 512)
            .isTrue();
      } else {
        assertThat(isOld || isNew || isAcked)
            .as("%s: sector %d is neither old nor new", where, s / 512)
            .isTrue();
      }
    }
  }

  private static void write(DiskChain d, byte[] model, int off, int len, int value)
      throws Exception {
    d.write(off, TestDisks.filled(len, value));
    java.util.Arrays.fill(model, off, off + len, (byte) value);
  }
}
