package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Hostile and damaged images: each gets a precise error, and nothing on disk changes. */
class BadInputTest {
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

  private Path image(String name) throws Exception {
    Path p = dir.resolve(name);
    TestDisks.dynamic(p, 8L << 20, VhdLayout.DEFAULT_BLOCK_SIZE);
    try (DiskChain d = DiskChain.open(p, false)) {
      d.write(1 << 20, TestDisks.filled(4096, 0x5a));
    }
    return p;
  }

  private static void patch(Path p, long at, byte[] bytes) throws Exception {
    byte[] f = Files.readAllBytes(p);
    System.arraycopy(bytes, 0, f, (int) at, bytes.length);
    Files.write(p, f);
  }

  @Test
  void tornTrailingFooterFallsBackToTheCopyAtZeroAndRepairs() throws Exception {
    Path p = image("a.vhd");
    byte[] expected = TestDisks.readAll(p);
    long len = Files.size(p);
    patch(p, len - 512, new byte[512]);
    byte[] damaged = Files.readAllBytes(p);
    assertThat(TestDisks.readAll(p)).isEqualTo(expected);
    assertThat(ImageChecker.check(p))
        .anyMatch(f -> f.repairable() && f.message().contains("trailing footer"));
    assertThat(Files.readAllBytes(p)).as("check alone changes nothing").isEqualTo(damaged);
    ImageChecker.repair(p);
    assertThat(ImageChecker.check(p)).isEmpty();
    assertThat(TestDisks.readAll(p)).isEqualTo(expected);
  }

  @Test
  void bothFootersBadIsCorruptWithOffsetsAndChecksums() throws Exception {
    Path p = image("a.vhd");
    long len = Files.size(p);
    patch(p, len - 512 + 40, new byte[] {1});
    patch(p, 40, new byte[] {1});
    byte[] damaged = Files.readAllBytes(p);
    assertThatThrownBy(() -> DiskChain.open(p, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining(p.toString())
        .hasMessageContaining(String.format("footer at 0x%X", len - 512))
        .hasMessageContaining("checksum expected 0x")
        .hasMessageContaining("copy at offset 0");
    assertThat(Files.readAllBytes(p)).isEqualTo(damaged);
  }

  @Test
  void truncatedFileIsRefused() throws Exception {
    Path p = image("a.vhd");
    byte[] f = Files.readAllBytes(p);
    Files.write(p, Arrays.copyOf(f, 3000));
    assertThatThrownBy(() -> DiskChain.open(p, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("BAT entry 0");
  }

  @Test
  void batEntryOutsideTheFileIsNamed() throws Exception {
    Path p = image("a.vhd");
    patchBat(p, 2, 0x00FF_0000);
    assertThatThrownBy(() -> DiskChain.open(p, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("BAT entry 2")
        .hasMessageContaining("0x1FE00000");
  }

  @Test
  void overlappingBlocksAreFoundByCheck() throws Exception {
    Path p = image("a.vhd");
    int first = batEntry(p, 0);
    patchBat(p, 3, first + 1);
    assertThat(ImageChecker.check(p)).anyMatch(f -> f.message().contains("overlap"));
  }

  @Test
  void absurdTableEntriesAreRefused() throws Exception {
    Path p = image("a.vhd");
    patchHeaderInt(p, 28, 0x7FFF_FFFF);
    assertThatThrownBy(() -> DiskChain.open(p, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("max table entries");
  }

  @Test
  void sizeAboveTheLimitIsRefusedAtCreateAndOpen() throws Exception {
    assertThatThrownBy(
            () ->
                TestDisks.dynamic(
                    dir.resolve("big.vhd"), 2041L << 30, VhdLayout.DEFAULT_BLOCK_SIZE))
        .isInstanceOf(UnsupportedImageException.class)
        .hasMessageContaining("2040 GiB");
    assertThat(Files.exists(dir.resolve("big.vhd"))).isFalse();
    Path p = image("a.vhd");
    try (VhdImage img = VhdImage.open(StorageProvider.FILES.open(p, false), false)) {
      io.vdisk.vhd.Footer f = img.footer();
      io.vdisk.vhd.Footer big =
          new io.vdisk.vhd.Footer(
              f.features(),
              f.formatVersion(),
              f.dataOffset(),
              f.timestamp(),
              f.creatorApplication(),
              f.creatorVersion(),
              f.creatorHostOs(),
              3L << 40,
              3L << 40,
              f.geometry(),
              f.diskType(),
              0,
              f.uniqueId(),
              0,
              0,
              null);
      patch(p, 0, big.toBuffer().array());
    }
    assertThatThrownBy(() -> DiskChain.open(p, true))
        .isInstanceOf(UnsupportedImageException.class)
        .hasMessageContaining("above the VHD limit of 2040 GiB");
  }

  @Test
  void missingParentIsNamed() throws Exception {
    Path base = image("base.vhd");
    Path child = dir.resolve("child.vhd");
    Snapshots.createChild(base, child);
    Files.delete(base);
    assertThatThrownBy(() -> DiskChain.open(child, true))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("parent 'base.vhd' not found");
  }

  @Test
  void parentWithAnotherUuidIsRefused() throws Exception {
    Path base = image("base.vhd");
    Path child = dir.resolve("child.vhd");
    Snapshots.createChild(base, child);
    Files.delete(base);
    image("base.vhd");
    assertThatThrownBy(() -> DiskChain.open(child, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("parent not usable")
        .hasMessageContaining("has UUID");
  }

  @Test
  void parentLoopsAreRefused() throws Exception {
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    differencing("a.vhd", a, b, "b.vhd");
    differencing("b.vhd", b, a, "a.vhd");
    assertThatThrownBy(() -> DiskChain.open(dir.resolve("a.vhd"), true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("parent loop");
    differencing("self.vhd", a, a, "self.vhd");
    assertThatThrownBy(() -> DiskChain.open(dir.resolve("self.vhd"), true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("parent loop");
  }

  @Test
  void locatorPointingOutsideTheFileIsRefused() throws Exception {
    Path base = image("base.vhd");
    Path child = dir.resolve("child.vhd");
    Snapshots.createChild(base, child);
    // First locator entry at header (512) + 576: data offset field at +16.
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(0, 1L << 40);
    patch(child, 512 + 576 + 16, b.array());
    fixHeaderChecksum(child);
    assertThatThrownBy(() -> DiskChain.open(child, true))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("parent locator MacX")
        .hasMessageContaining("outside the file");
  }

  @Test
  void reusedCrashSpaceReadsAsZerosInANewBlock() throws Exception {
    Path p = image("a.vhd");
    byte[] f = Files.readAllBytes(p);
    // A crashed session left 3 MiB of unreferenced garbage where the next block will go.
    byte[] grown = Arrays.copyOf(f, f.length - 512 + (3 << 20));
    Arrays.fill(grown, f.length - 512, grown.length, (byte) 0xEE);
    Files.write(p, grown);
    try (DiskChain d = DiskChain.open(p, false)) {
      d.write(5L << 20, TestDisks.filled(512, 0x01));
    }
    byte[] all = TestDisks.readAll(p);
    assertThat(all[5 << 20]).isEqualTo((byte) 0x01);
    for (int i = (5 << 20) + 512; i < (6 << 20); i++) {
      assertThat(all[i]).as("byte %d", i).isZero();
    }
    assertThat(ImageChecker.check(p)).isEmpty();
  }

  private void differencing(String name, UUID self, UUID parent, String parentName)
      throws Exception {
    VhdCreator.createDifferencing(
        StorageProvider.FILES,
        dir.resolve(name),
        new VhdCreator.Spec(
            DiskType.DIFFERENCING, 8L << 20, VhdLayout.DEFAULT_BLOCK_SIZE, self, Instant.now()),
        new VhdCreator.ParentLink(parent, 0, parentName, parentName));
  }

  private static int batEntry(Path p, int index) throws Exception {
    return ByteBuffer.wrap(Files.readAllBytes(p)).getInt(1536 + 4 * index);
  }

  private static void patchBat(Path p, int index, int value) throws Exception {
    patch(p, 1536 + 4L * index, ByteBuffer.allocate(4).putInt(value).array());
  }

  private static void patchHeaderInt(Path p, int field, int value) throws Exception {
    patch(p, 512 + field, ByteBuffer.allocate(4).putInt(value).array());
    fixHeaderChecksum(p);
  }

  private static void fixHeaderChecksum(Path p) throws Exception {
    byte[] f = Files.readAllBytes(p);
    ByteBuffer h = ByteBuffer.wrap(f, 512, 1024).slice();
    int sum = 0;
    for (int i = 0; i < 1024; i++) {
      if (i < 36 || i >= 40) {
        sum += h.get(i) & 0xFF;
      }
    }
    h.putInt(36, ~sum);
    Files.write(p, f);
  }
}
