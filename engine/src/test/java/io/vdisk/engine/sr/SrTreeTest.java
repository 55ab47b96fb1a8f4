package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.image.VhdParent;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clone reads only its VDI's chain (through the locators) instead of every VHD of the SR; what it
 * learns must be what the whole tree says, and where the locators do not lead through the SR the
 * whole tree, which finds parents by UUID, must still be read.
 */
class SrTreeTest {
  private static final long SIZE = 8L << 20;

  @TempDir Path dir;

  /** A VDI two snapshots deep (its file over two hidden bases), beside unrelated VDIs. */
  private String deepVdi(StorageRepository sr) throws Exception {
    String a = Vdis.create(sr, "a", "", SIZE);
    SrStoryTest.write(sr, a, 0, 4096, 0x11);
    Vdis.snapshot(sr, a);
    SrStoryTest.write(sr, a, 1 << 20, 4096, 0x22);
    Vdis.snapshot(sr, a);
    SrStoryTest.write(sr, a, 2 << 20, 4096, 0x33);
    for (int i = 0; i < 3; i++) {
      Vdis.create(sr, "other " + i, "", SIZE);
    }
    return a;
  }

  @Test
  void aChainReadThroughItsLocatorsIsWhatTheWholeTreeSays() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String a = deepVdi(sr);
      SrTree whole = SrTree.read(sr.dir());
      SrTree chain = SrTree.readChain(sr.dir(), a);
      assertThat(chain).isNotNull();
      assertThat(chain.depth(a)).isEqualTo(whole.depth(a)).isEqualTo(3);
      assertThat(chain.nodes()).hasSize(3);
      for (String v = a; v != null; v = whole.parent(v)) {
        assertThat(chain.node(v)).isEqualTo(whole.node(v));
        assertThat(chain.parent(v)).isEqualTo(whole.parent(v));
      }
    }
  }

  @Test
  void locatorsThatLeadElsewhereGiveNoChainSoTheWholeTreeIsRead() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String a = deepVdi(sr);
      // the leaf's locators and parent name now name a file on another host; its parent UUID
      // stays right, so the whole tree (parents by UUID) still places it
      try (VhdImage leaf =
          VhdImage.open(
              StorageProvider.FILES.open(sr.file(a), StorageProvider.Access.WRITE), false)) {
        VhdParent.relink(
            leaf,
            leaf.header().parentUuid(),
            leaf.header().parentTimestamp(),
            "gone.vhd",
            "/var/run/sr-mount/elsewhere/gone.vhd");
      }
      assertThat(SrTree.readChain(sr.dir(), a)).isNull();
      assertThat(SrTree.read(sr.dir()).depth(a)).isEqualTo(3);
    }
  }
}
