package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.ChangedBlocks;
import io.vdisk.engine.VirtualDisk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.roaringbitmap.RoaringBitmap;

/**
 * Changed-block lists against a model: the blocks a test wrote between two snapshots, no more and
 * no fewer, from the chains and from the CBT logs; the logs in blktap's byte layout.
 */
class CbtTest {
  private static final long SIZE = 24L << 20;

  @TempDir Path dir;

  /** Writes {@code len} bytes of {@code value} at {@code off}, and notes them in the model. */
  private static void write(
      StorageRepository sr, String vdi, long off, int len, int value, List<long[]> model)
      throws Exception {
    SrStoryTest.write(sr, vdi, off, len, value);
    model.add(new long[] {off, len});
  }

  private static java.util.SortedSet<Long> blocks(List<long[]> model) {
    TreeSet<Long> out = new TreeSet<>();
    for (long[] w : model) {
      for (long b = w[0] / ChangedBlocks.BLOCK; b <= (w[0] + w[1] - 1) / ChangedBlocks.BLOCK; b++) {
        out.add(b);
      }
    }
    return out;
  }

  private static java.util.SortedSet<Long> blocksOf(ChangedBlocks c) {
    TreeSet<Long> out = new TreeSet<>();
    c.blocks().forEach((int b) -> out.add(Integer.toUnsignedLong(b)));
    return out;
  }

  /** Decodes xapi's base64 answer: block 0 is the high bit of byte 0. */
  private static java.util.SortedSet<Long> decodeXapi(String b64) {
    byte[] bytes = Base64.getDecoder().decode(b64);
    TreeSet<Long> out = new TreeSet<>();
    for (int i = 0; i < bytes.length * 8; i++) {
      if ((bytes[i >>> 3] & (0x80 >>> (i & 7))) != 0) {
        out.add((long) i);
      }
    }
    return out;
  }

  @Test
  void changedBlocksAreExactlyTheWrittenOnesFromChainsAndLogs() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String vdi = Vdis.create(sr, "d", "", SIZE);
      Cbt.enable(sr, vdi);
      List<long[]> before = new ArrayList<>();
      write(sr, vdi, 0, 3 << 20, 0x11, before);
      String s1 = Vdis.snapshot(sr, vdi);

      List<long[]> model = new ArrayList<>();
      write(sr, vdi, 512, 512, 0x21, model); // one sector
      write(sr, vdi, 5L << 20, 4096, 0x22, model); // 4 KiB inside a block
      write(sr, vdi, (7L << 20) - 4096, 8192, 0x23, model); // across a 64 KiB boundary
      write(sr, vdi, 9L << 20, 2 << 20, 0x24, model); // 2 MiB, a whole VHD block
      write(sr, vdi, SIZE - 512, 512, 0x25, model); // the last sector
      String s2 = Vdis.snapshot(sr, vdi);
      List<long[]> after = new ArrayList<>();
      write(sr, vdi, 13L << 20, 512, 0x31, after);

      ChangedBlocks layers = Cbt.changed(sr, s1, s2);
      assertThat(layers.source()).isEqualTo(ChangedBlocks.Source.LAYERS);
      assertThat(blocksOf(layers)).isEqualTo(blocks(model));
      assertThat(decodeXapi(layers.xapiBitmap())).isEqualTo(blocks(model));
      assertThat(Base64.getDecoder().decode(layers.xapiBitmap()))
          .hasSize((int) (SIZE / ChangedBlocks.BLOCK / 8));
      long exact = model.stream().mapToLong(w -> w[1]).sum();
      assertThat(layers.changedBytes()).as("sector-exact from the chain").isEqualTo(exact);
      assertThat(layers.exact().get(0)).isEqualTo(new ChangedBlocks.Range(512, 512));

      ChangedBlocks logs = Cbt.changed(sr, s1, s2, null, null);
      assertThat(logs.source()).isEqualTo(ChangedBlocks.Source.CBT);
      assertThat(blocksOf(logs)).isEqualTo(blocks(model));

      List<long[]> toLive = new ArrayList<>(model);
      toLive.addAll(after);
      assertThat(blocksOf(Cbt.changed(sr, s1, vdi))).isEqualTo(blocks(toLive));
      assertThat(blocksOf(Cbt.changed(sr, s1, vdi, null, null))).isEqualTo(blocks(toLive));
      assertThat(blocksOf(Cbt.changed(sr, s2, s1))).as("either order").isEqualTo(blocks(model));

      // The snapshot's data goes; its log answers alone.
      Cbt.dataDestroy(sr, s1);
      assertThat(Files.exists(sr.file(s1))).isFalse();
      assertThat(sr.vdi(s1).type()).isEqualTo("cbt_metadata");
      assertThat(SrMaintenance.gc(sr)).isNotEmpty();
      assertThat(SrMaintenance.scan(sr)).isEmpty();
      ChangedBlocks afterDestroy = Cbt.changed(sr, s1, s2);
      assertThat(afterDestroy.source()).isEqualTo(ChangedBlocks.Source.CBT);
      assertThat(blocksOf(afterDestroy)).isEqualTo(blocks(model));
      assertThatThrownBy(() -> sr.openVdi(s1, true))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("vdi-data-destroy");

      // Destroying the middle snapshot folds its log into the live VDI's.
      Vdis.destroy(sr, s2);
      assertThat(Files.exists(Cbt.log(sr, s2))).isFalse();
      assertThat(blocksOf(Cbt.changed(sr, s1, vdi))).isEqualTo(blocks(toLive));
    }
  }

  @Test
  void logsAreBlktapsLayout() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String vdi = Vdis.create(sr, "d", "", 3L << 20);
      Cbt.enable(sr, vdi);
      SrStoryTest.write(sr, vdi, 65536 * 9, 1, 1);
      String snap = Vdis.snapshot(sr, vdi);
      ByteBuffer b =
          ByteBuffer.wrap(Files.readAllBytes(Cbt.log(sr, snap))).order(ByteOrder.LITTLE_ENDIAN);
      assertThat(b.capacity()).isEqualTo(48 + 48 / 8);
      assertThat(new java.util.UUID(b.order(ByteOrder.BIG_ENDIAN).getLong(16), b.getLong(24)))
          .as("child: the VDI")
          .hasToString(vdi);
      b.order(ByteOrder.LITTLE_ENDIAN);
      assertThat(b.getInt(32)).as("consistent").isEqualTo(1);
      assertThat(b.getLong(40)).as("size").isEqualTo(3L << 20);
      assertThat(b.get(48 + 1)).as("block 9: bit 1 of byte 1").isEqualTo((byte) 0x02);
      ByteBuffer live = ByteBuffer.wrap(Files.readAllBytes(Cbt.log(sr, vdi)));
      assertThat(new java.util.UUID(live.getLong(0), live.getLong(8))).hasToString(snap);
    }
  }

  @Test
  void aWriterThatNeverClosedLeavesALogThatRefusesToAnswer() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String vdi = Vdis.create(sr, "d", "", 4L << 20);
      Cbt.enable(sr, vdi);
      String snap = Vdis.snapshot(sr, vdi);
      byte[] crashed;
      try (VirtualDisk d = sr.openVdi(vdi, false)) {
        d.write(0, ByteBuffer.allocate(512));
        crashed = Files.readAllBytes(Cbt.log(sr, vdi)); // the log as kill -9 leaves it
        assertThat(crashed[48] & 1).as("the write is in the log before it returns").isEqualTo(1);
      }
      Files.write(Cbt.log(sr, vdi), crashed);
      assertThatThrownBy(() -> Cbt.changed(sr, snap, vdi, null, null))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("inconsistent")
          .hasMessageContaining("full backup");
      assertThat(Cbt.changed(sr, snap, vdi).source())
          .as("the chain still knows")
          .isEqualTo(ChangedBlocks.Source.LAYERS);
      Cbt.disable(sr, vdi);
      Cbt.enable(sr, vdi);
      assertThat(CbtLog.read(sr.provider(), Cbt.log(sr, vdi)).consistent).isTrue();
    }
  }

  @Test
  void hostileLogsAreRefused() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String vdi = Vdis.create(sr, "d", "", 4L << 20);
      Cbt.enable(sr, vdi);
      Path log = Cbt.log(sr, vdi);
      byte[] good = Files.readAllBytes(log);
      byte[] huge = good.clone();
      ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(40, Long.MAX_VALUE);
      Files.write(log, huge);
      assertThatThrownBy(() -> CbtLog.read(sr.provider(), log)).hasMessageContaining("2040 GiB");
      Files.write(log, java.util.Arrays.copyOf(good, 47));
      assertThatThrownBy(() -> CbtLog.read(sr.provider(), log)).hasMessageContaining("header");
      byte[] flag = good.clone();
      flag[32] = 7;
      Files.write(log, flag);
      assertThatThrownBy(() -> CbtLog.read(sr.provider(), log)).hasMessageContaining("flag");
      Files.write(log, java.util.Arrays.copyOf(good, 50));
      assertThatThrownBy(() -> CbtLog.read(sr.provider(), log)).hasMessageContaining("bitmap");
    }
  }

  @Test
  void growthCountsAsChanged() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String vdi = Vdis.create(sr, "d", "", 1L << 20);
      Cbt.enable(sr, vdi);
      String snap = Vdis.snapshot(sr, vdi);
      Vdis.resize(sr, vdi, 2L << 20);
      ChangedBlocks c = Cbt.changed(sr, snap, vdi);
      assertThat(c.size()).isEqualTo(2L << 20);
      assertThat(c.fromSize()).isEqualTo(1L << 20);
      RoaringBitmap expected = new RoaringBitmap();
      expected.add(16L, 32L);
      assertThat(c.blocks()).isEqualTo(expected);
      assertThat(blocksOf(Cbt.changed(sr, snap, vdi, null, null)))
          .as("from the logs too")
          .containsAll(blocksOf(c));
    }
  }
}
