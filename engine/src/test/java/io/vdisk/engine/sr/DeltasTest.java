package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Progress;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deltas: base export plus delta reads as the VDI; base import plus delta import restores it; a
 * delta holds exactly the changed sectors; wrong bases and wrong targets are refused, unchanged.
 */
class DeltasTest {
  private static final long SIZE = 12L << 20;

  @TempDir Path dir;

  @Test
  void fullPlusDeltaIsTheVdiAndRestoresIt() throws Exception {
    Path out = Files.createDirectories(dir.resolve("backup"));
    try (StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "test")) {
      String vdi = Vdis.create(sr, "d", "", SIZE);
      SrStoryTest.write(sr, vdi, 0, 3 << 20, 0x11);
      String s1 = Vdis.snapshot(sr, vdi);
      VdiContents.exportTo(sr, s1, out.resolve(s1 + ".vhd"), Converter.Target.VHD);
      SrStoryTest.write(sr, vdi, 512, 512, 0x21);
      SrStoryTest.write(sr, vdi, 1L << 20, 4096, 0); // zeros over data: must not show the base
      SrStoryTest.write(sr, vdi, (5L << 20) - 512, 2048, 0x23);
      SrStoryTest.write(sr, vdi, SIZE - 512, 512, 0x24);
      String s2 = Vdis.snapshot(sr, vdi);
      byte[] want = SrStoryTest.read(sr, s2);

      Path delta = out.resolve("delta.vhd");
      Deltas.Result r = Deltas.export(sr, s2, s1, delta, false, Progress.NONE);
      assertThat(r.bytes()).isEqualTo(512 + 4096 + 2048 + 512);
      try (VhdImage d = VhdImage.open(StorageProvider.FILES.open(delta, true), true)) {
        assertThat(d.isDifferencing()).isTrue();
        assertThat(d.footer().uniqueId()).hasToString(s2);
        assertThat(d.header().parentUuid()).hasToString(s1);
      }
      try (DiskChain c = DiskChain.open(delta, true)) {
        assertThat(c.depth()).isEqualTo(2);
        java.nio.ByteBuffer all = java.nio.ByteBuffer.allocate((int) c.size());
        c.read(0, all);
        assertThat(all.array()).as("base export + delta").isEqualTo(want);
      }

      Path rawDelta = out.resolve("delta.raw");
      Deltas.export(sr, s2, s1, rawDelta, true, Progress.NONE);
      byte[] raw = Files.readAllBytes(rawDelta);
      assertThat(raw[600]).isEqualTo((byte) 0x21);
      assertThat(raw[2 << 20]).as("unchanged: a hole").isZero();

      // Restore into a new VDI: the full export, then the delta.
      String restored = Vdis.create(sr, "restored", "", SIZE);
      assertThatThrownBy(() -> Deltas.importDelta(sr, restored, delta, false, Progress.NONE))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("import its base first");
      byte[] untouched = SrStoryTest.read(sr, restored);
      assertThat(untouched).as("a refused import changes nothing").isEqualTo(new byte[(int) SIZE]);
      VdiContents.importFrom(
          sr, restored, out.resolve(s1 + ".vhd"), io.vdisk.engine.Disks.Format.VHD);
      Deltas.Imported imp = Deltas.importDelta(sr, restored, delta, false, Progress.NONE);
      assertThat(imp.bytes()).isEqualTo(r.bytes());
      assertThat(SrStoryTest.read(sr, restored)).isEqualTo(want);
      assertThatThrownBy(() -> Deltas.importDelta(sr, restored, delta, false, Progress.NONE))
          .as("the same delta twice: the VDI now holds it")
          .hasMessageContaining("holds " + s2);

      // A write after the import: the VDI is no longer what it was imported from.
      String again = Vdis.create(sr, "again", "", SIZE);
      VdiContents.importFrom(sr, again, out.resolve(s1 + ".vhd"), io.vdisk.engine.Disks.Format.VHD);
      SrStoryTest.write(sr, again, 0, 512, 0x77);
      assertThatThrownBy(() -> Deltas.importDelta(sr, again, delta, false, Progress.NONE))
          .hasMessageContaining("holds no imported image");
      Deltas.importDelta(sr, again, delta, true, Progress.NONE);
      byte[] forced = SrStoryTest.read(sr, again);
      assertThat(forced[0]).isEqualTo((byte) 0x77);
      assertThat(Arrays.copyOfRange(forced, 512, forced.length))
          .isEqualTo(Arrays.copyOfRange(want, 512, want.length));
    }
  }

  @Test
  void aBaseThatIsNotTheVdisSnapshotIsRefused() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "test")) {
      String a = Vdis.create(sr, "a", "", SIZE);
      String b = Vdis.create(sr, "b", "", SIZE);
      String sb = Vdis.snapshot(sr, b);
      Path target = dir.resolve("x.vhd");
      assertThatThrownBy(() -> Deltas.export(sr, a, sb, target, false, Progress.NONE))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("not a snapshot of VDI " + a);
      assertThatThrownBy(() -> Deltas.export(sr, a, b, target, false, Progress.NONE))
          .hasMessageContaining("not a snapshot");
      assertThat(target).doesNotExist();
    }
  }

  @Test
  void aResizedVdisDeltaSaysSo() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "test")) {
      String vdi = Vdis.create(sr, "d", "", 4L << 20);
      String s1 = Vdis.snapshot(sr, vdi);
      Vdis.resize(sr, vdi, 6L << 20);
      Deltas.Result r = Deltas.export(sr, vdi, s1, dir.resolve("d.vhd"), false, Progress.NONE);
      assertThat(r.changes().size()).isEqualTo(6L << 20);
      assertThat(r.changes().fromSize()).isEqualTo(4L << 20);
      assertThat(r.changes().exact())
          .containsExactly(new io.vdisk.engine.ChangedBlocks.Range(4L << 20, 2L << 20));
    }
  }
}
