package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.SectorBitmap;
import java.nio.ByteBuffer;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every write path on images vdisk did not make: dynamic and differencing blocks with partial
 * sector bitmaps, as tapdisk, libvhd and {@code vhd-util coalesce} leave them, crafted byte by byte
 * ({@link ForeignImage}). Each write reads back through vdisk, after a reopen, and the image stays
 * clean; coalesce into such a parent keeps every byte.
 */
class ForeignWriteTest {
  private FileSystem fs;
  private Path dir;

  @BeforeEach
  void setUp() throws Exception {
    fs = TestDisks.memoryFs();
    dir = TestDisks.dir(fs);
  }

  @AfterEach
  void tearDown() throws Exception {
    fs.close();
  }

  /** Blocks 0 and 2 partly present, block 3 full; blocks 1 and the rest unallocated. */
  private ForeignImage tapDynamic(int bs) {
    int spb = bs / 512;
    ForeignImage f = ForeignImage.dynamic(8L * bs, bs);
    f.partialBlock(2, Math.min(1, spb - 1), Math.min(1, spb - 1) + 1, 0x22);
    if (spb >= 4) {
      f.partialBlock(0, 1, spb / 2, 0x11);
    } else {
      f.partialBlock(0, 0, 1, 0x11);
    }
    f.partialBlock(3, 0, spb, 0x33);
    return f;
  }

  @ParameterizedTest(name = "block {0}")
  @ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
  void writesIntoPartialBitmapBlocksOfADynamicImageReadBack(int bs) throws Exception {
    ForeignImage f = tapDynamic(bs);
    Path img = f.writeTo(dir.resolve("tap.vhd"));
    byte[] model = f.contents(null);
    assertThat(TestDisks.readAll(img)).as("vdisk reads the foreign image").isEqualTo(model);

    Random rnd = new Random(bs);
    try (DiskChain d = DiskChain.open(img, false)) {
      // Into the clear sectors of block 0, across into block 1 (unallocated), unaligned.
      write(d, model, Math.max(0, bs - 700), 1400, 0x44);
      // Into block 2's clear sectors only, whole sectors.
      write(d, model, 2L * bs + (bs > 512 ? 1024 : 0), 512, 0x55);
      for (int i = 0; i < 20; i++) {
        long off = rnd.nextInt((int) d.size() - 1);
        int len = 1 + rnd.nextInt((int) Math.min(3L * bs, d.size() - off));
        write(d, model, off, len, 0x60 + i);
      }
      assertThat(TestDisks.readAll(d)).as("before flush").isEqualTo(model);
      d.flush();
    }
    assertThat(TestDisks.readAll(img)).as("after reopen").isEqualTo(model);
    assertThat(ImageChecker.check(img)).isEmpty();
  }

  @ParameterizedTest(name = "block {0}")
  @ValueSource(ints = {4096, 2 * 1024 * 1024})
  void aBlockWrittenFullGetsItsBatmapBit(int bs) throws Exception {
    ForeignImage f = ForeignImage.dynamic(4L * bs, bs).partialBlock(1, 0, 1, 0x11);
    Path img = f.writeTo(dir.resolve("tap.vhd"));
    try (DiskChain d = DiskChain.open(img, false)) {
      d.write(bs + 512, TestDisks.filled(bs - 512, 0x77));
    }
    try (VhdImage v = VhdImage.open(StorageProvider.FILES.open(img, true), true)) {
      assertThat(v.batmapValid()).isTrue();
      assertThat(v.isKnownFull(1)).as("the batmap says block 1 is full").isTrue();
      assertThat(v.bitmap(1).isFull()).isTrue();
    }
    assertThat(ImageChecker.check(img)).isEmpty();
  }

  @ParameterizedTest(name = "block {0}")
  @ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
  void foreignDifferencingChildWithPartialBitmapsTakesWrites(int bs) throws Exception {
    ForeignImage pf = tapDynamic(bs);
    Path parent = pf.writeTo(dir.resolve("parent.vhd"));
    Path child = dir.resolve("child.vhd");
    ForeignImage cf = ForeignImage.differencing(child, parent);
    cf.partialBlock(0, 0, 1, 0x91).partialBlock(3, bs / 512 - 1, bs / 512, 0x93);
    cf.writeTo(child);
    byte[] model = cf.contents(pf.contents(null));
    assertThat(TestDisks.readAll(child)).isEqualTo(model);
    try (DiskChain d = DiskChain.open(child, false)) {
      write(d, model, 3L * bs + 100, Math.min(bs, 4000), 0xA1);
      write(d, model, 100, 300, 0xA2);
      write(d, model, 5L * bs, bs, 0xA3);
    }
    assertThat(TestDisks.readAll(child)).isEqualTo(model);
    assertThat(TestDisks.readAll(parent))
        .as("the parent is untouched")
        .isEqualTo(pf.contents(null));
    assertThat(ImageChecker.check(child)).isEmpty();
  }

  @ParameterizedTest(name = "block {0}")
  @ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
  void coalesceIntoAPartialBitmapParentKeepsEveryByte(int bs) throws Exception {
    ForeignImage pf = tapDynamic(bs);
    Path parent = pf.writeTo(dir.resolve("parent.vhd"));
    Path child = dir.resolve("child.vhd");
    ForeignImage cf = ForeignImage.differencing(child, parent);
    int spb = bs / 512;
    // Child sectors exactly where the parent's bits are clear, and over its data too.
    cf.partialBlock(0, 0, 1, 0xC0);
    cf.partialBlock(2, 0, spb, 0xC2);
    cf.partialBlock(5, spb - 1, spb, 0xC5);
    cf.writeTo(child);
    byte[] model = cf.contents(pf.contents(null));
    Path grand = dir.resolve("grand.vhd");
    Snapshots.createChild(child, grand);
    try (DiskChain d = DiskChain.open(grand, false)) {
      write(d, model, bs / 2, 512, 0xD0);
    }
    Coalescer.coalesce(StorageProvider.FILES, child, false);
    assertThat(Files.exists(child)).isFalse();
    assertThat(TestDisks.readAll(grand)).as("the grandchild reads the same").isEqualTo(model);
    byte[] parentModel = cf.contents(pf.contents(null));
    assertThat(TestDisks.readAll(parent))
        .as("the parent holds the child's data")
        .isEqualTo(parentModel);
    assertThat(ImageChecker.check(grand)).isEmpty();
  }

  @ParameterizedTest(name = "block {0}")
  @ValueSource(ints = {4096, 2 * 1024 * 1024})
  void checkFindsDataThatAClearBitHidesAndRepairZeroesIt(int bs) throws Exception {
    ForeignImage f = ForeignImage.dynamic(4L * bs, bs).partialBlock(1, 0, 2, 0x11);
    Path img = f.writeTo(dir.resolve("tap.vhd"));
    byte[] view = TestDisks.readAll(img);
    // What an older vdisk left: data written under a clear bit (read as zeros by every reader).
    long dataAt;
    try (VhdImage v = VhdImage.open(StorageProvider.FILES.open(img, true), true)) {
      dataAt = v.dataOffset(1) + bs - 512;
    }
    byte[] raw = Files.readAllBytes(img);
    Arrays.fill(raw, (int) dataAt + 511, (int) dataAt + 512, (byte) 0x5A);
    Files.write(img, raw);
    assertThat(ImageChecker.check(img))
        .anyMatch(x -> x.repairable() && x.message().contains("clear bitmap bits"));
    ImageChecker.repair(img);
    assertThat(ImageChecker.check(img)).isEmpty();
    assertThat(TestDisks.readAll(img)).as("repair changes nothing the guest sees").isEqualTo(view);
  }

  private static void write(DiskChain d, byte[] model, long off, int len, int value)
      throws Exception {
    ByteBuffer b = TestDisks.filled(len, value);
    d.write(off, b);
    Arrays.fill(model, (int) off, (int) off + len, (byte) value);
  }

  static SectorBitmap bits(int bs, int from, int to) {
    SectorBitmap b = SectorBitmap.empty(bs);
    b.setRange(from, to);
    return b;
  }
}
