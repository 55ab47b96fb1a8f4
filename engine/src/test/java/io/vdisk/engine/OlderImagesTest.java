package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.ImageRefusedException;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layouts of other and older tools: a VHD over a raw parent ({@code vhd-util snapshot -m}), early
 * tapdisk images that keep their hidden flag in the copy at offset 0 only, and tapdisk 0.1.
 */
class OlderImagesTest {
  @TempDir Path dir;

  @Test
  void aChildOfARawParentReadsThroughIt() throws Exception {
    byte[] raw = new byte[6 << 20];
    new Random(7).nextBytes(raw);
    Path parent = Files.write(dir.resolve("base.raw"), raw);
    Path child = dir.resolve("child.vhd");
    ForeignImage f = ForeignImage.overRaw(child, parent).partialBlock(1, 10, 20, 0x77);
    f.writeTo(child);
    byte[] expected = f.contents(raw);
    assertThat(TestDisks.readAll(child)).isEqualTo(expected);
    try (DiskChain c = DiskChain.open(child, false)) {
      assertThat(c.depth()).isEqualTo(2);
      assertThat(c.layers().get(1).isRaw()).isTrue();
      c.write(100, TestDisks.filled(1000, 0x12));
      Arrays.fill(expected, 100, 1100, (byte) 0x12);
    }
    assertThat(TestDisks.readAll(child)).isEqualTo(expected);
    assertThat(Files.readAllBytes(parent)).as("the raw parent is never written").isEqualTo(raw);
    assertThat(ImageChecker.check(child)).isEmpty();
  }

  @Test
  void earlyTapImagesKeepTheirHiddenFlagInTheCopyAtZero() throws Exception {
    Path img =
        ForeignImage.dynamic(4L << 20, 2 << 20)
            .creator(VhdLayout.CREATOR_TAP, 0x0001_0001)
            .partialBlock(0, 0, 4, 0x11)
            .legacyHiddenCopy()
            .writeTo(dir.resolve("old.vhd"));
    byte[] bytes = Files.readAllBytes(img);
    try (VhdImage v = VhdImage.open(StorageProvider.FILES.open(img, true), true)) {
      assertThat(v.footer().isHidden()).isTrue();
      assertThat(v.trailerValid()).isTrue();
      assertThat(v.copyAtZeroValid()).isTrue();
    }
    assertThat(ImageChecker.check(img)).isEmpty();
    ImageChecker.repair(img);
    try (VhdImage v = VhdImage.open(StorageProvider.FILES.open(img, true), true)) {
      assertThat(v.footer().isHidden()).as("repair keeps it hidden").isTrue();
    }
    assertThatThrownBy(() -> DiskChain.open(img, false))
        .isInstanceOf(ImageRefusedException.class)
        .hasMessageContaining("hidden base");
    assertThat(bytes.length).isEqualTo(Files.size(img));
  }

  @Test
  void tapdisk01ImagesAreRefusedAsLibvhdRefusesThem() throws Exception {
    Path img =
        ForeignImage.dynamic(4L << 20, 2 << 20)
            .creator(VhdLayout.CREATOR_TAP, 0x0000_0001)
            .writeTo(dir.resolve("ancient.vhd"));
    assertThatThrownBy(() -> DiskChain.open(img, true))
        .isInstanceOf(UnsupportedImageException.class)
        .hasMessageContaining("0.1");
  }

  @Test
  void a511ByteFooterIsLegal() throws Exception {
    Path fixed = dir.resolve("vpc2003.vhd");
    VhdCreator.createFixed(StorageProvider.FILES, fixed, VhdCreator.Spec.fixed(1 << 20));
    try (DiskChain d = DiskChain.open(fixed, false)) {
      d.write(0, TestDisks.filled(4096, 0x33));
    }
    Path dyn = dir.resolve("dyn.vhd");
    TestDisks.dynamic(dyn, 4L << 20, 2 << 20);
    try (DiskChain d = DiskChain.open(dyn, false)) {
      d.write(0, TestDisks.filled(4096, 0x44));
    }
    for (Path p : new Path[] {fixed, dyn}) {
      byte[] view = TestDisks.readAll(p);
      byte[] b = Files.readAllBytes(p);
      Files.write(p, Arrays.copyOf(b, b.length - 1)); // the footer's last (reserved) byte cut
      assertThat(TestDisks.readAll(p)).as(p.toString()).isEqualTo(view);
      assertThat(ImageChecker.check(p)).as(p.toString()).isEmpty();
    }
  }

  @Test
  void aLocatorNamingAFileThatIsNoVhdDoesNotStopTheParentSearch() throws Exception {
    Path base = dir.resolve("base.vhd");
    TestDisks.dynamic(base, 4L << 20, 2 << 20);
    try (DiskChain d = DiskChain.open(base, false)) {
      d.write(0, TestDisks.filled(512, 0x61));
    }
    Path child = dir.resolve("child.vhd");
    Snapshots.createChild(base, child);
    Files.writeString(dir.resolve("bxse.vhd"), "not a VHD at all");
    // The MacX locator (tried first) now names bxse.vhd; W2ku and W2ru still name base.vhd.
    byte[] b = Files.readAllBytes(child);
    String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    int at = text.indexOf("file://./base.vhd");
    assertThat(at).isPositive();
    b[at + "file://./b".length()] = 'x';
    Files.write(child, b);
    try (DiskChain c = DiskChain.open(child, true)) {
      assertThat(c.paths().get(1).getFileName().toString()).isEqualTo("base.vhd");
      assertThat(TestDisks.readAll(c)[0]).isEqualTo((byte) 0x61);
    }
  }
}
