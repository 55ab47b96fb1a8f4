package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.io.ImageRefusedException;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vdis;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's one rule for who may write an image, through every way of writing one: a refused
 * write names why in one line and leaves every file's bytes as they were.
 */
class WriteRuleTest {
  @TempDir Path dir;

  private static String sha(Path p) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  private Path base() throws Exception {
    Path base = dir.resolve("base.vhd");
    TestDisks.dynamic(base, 4L << 20, 1 << 20);
    try (DiskChain d = DiskChain.open(base, false)) {
      d.write(0, TestDisks.filled(4096, 0x11));
    }
    return base;
  }

  @Test
  void aParentThatAChildNamesIsNeverWritten() throws Exception {
    Path base = base();
    Snapshots.createChild(base, dir.resolve("child.vhd"));
    String hash = sha(base);
    assertThatThrownBy(() -> DiskChain.open(base, false))
        .isInstanceOf(ImageRefusedException.class)
        .hasMessage(
            base
                + ": is the parent of child.vhd: writing it would change what they read;"
                + " write a child, or coalesce");
    assertThatThrownBy(() -> Resizer.resize(StorageProvider.FILES, base, 8L << 20, false))
        .isInstanceOf(ImageRefusedException.class);
    assertThatThrownBy(() -> Snapshots.snapshotInPlace(StorageProvider.FILES, base))
        .isInstanceOf(ImageRefusedException.class);
    assertThat(sha(base)).isEqualTo(hash);
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      assertThat(s.count()).as("nothing new in the directory").isEqualTo(2);
    }
    // --force: the user knows every child changes.
    try (DiskChain d =
        DiskChain.open(
            base,
            StorageProvider.Access.WRITE,
            StorageProvider.FILES,
            null,
            WriteRule.Grant.FORCE)) {
      d.write(0, TestDisks.filled(512, 0x12));
    }
    assertThat(TestDisks.readAll(dir.resolve("child.vhd"))[0]).isEqualTo((byte) 0x12);
  }

  @Test
  void aHiddenBaseIsNeverWritten() throws Exception {
    Path base = base();
    Path img = dir.resolve("img.vhd");
    Files.copy(base, img);
    Path baseOfImg = Snapshots.snapshotInPlace(StorageProvider.FILES, img);
    Files.delete(img); // the base is left without children: still hidden, still refused
    String hash = sha(baseOfImg);
    assertThatThrownBy(() -> DiskChain.open(baseOfImg, false))
        .isInstanceOf(ImageRefusedException.class)
        .hasMessageContaining("is a hidden base copy");
    assertThat(sha(baseOfImg)).isEqualTo(hash);
  }

  @Test
  void anSrVdiIsWrittenOnlyThroughItsSr() throws Exception {
    Path srDir = dir.resolve("sr");
    String vdi;
    try (StorageRepository sr = StorageRepository.create(srDir, "test")) {
      vdi = Vdis.create(sr, "d", "", 4L << 20);
    }
    Path file = srDir.resolve(vdi + ".vhd");
    String hash = sha(file);
    assertThatThrownBy(() -> DiskChain.open(file, false))
        .isInstanceOf(ImageRefusedException.class)
        .hasMessageContaining("is VDI " + vdi + " of the SR in " + srDir);
    assertThatThrownBy(
            () ->
                DiskChain.open(
                    file,
                    StorageProvider.Access.WRITE,
                    StorageProvider.FILES,
                    null,
                    WriteRule.Grant.FORCE))
        .isInstanceOf(ImageRefusedException.class);
    assertThatThrownBy(() -> Resizer.resize(StorageProvider.FILES, file, 8L << 20, false))
        .isInstanceOf(ImageRefusedException.class);
    assertThatThrownBy(() -> Coalescer.coalesce(StorageProvider.FILES, file, true))
        .isInstanceOf(ImageRefusedException.class)
        .hasMessageContaining("sr-gc");
    assertThat(sha(file)).isEqualTo(hash);
    try (VirtualDisk d = StorageRepository.openVdiFile(file, false, "test")) {
      d.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    }
    // Reading by path is fine.
    try (DiskChain d = DiskChain.open(file, true)) {
      assertThat(TestDisks.readAll(d)[2]).isEqualTo((byte) 3);
    }
  }

  @Test
  void aMountedOrOpenImageIsInUse() throws Exception {
    Path base = base();
    try (DiskChain w = DiskChain.open(base, false)) {
      assertThatThrownBy(() -> Snapshots.snapshotInPlace(StorageProvider.FILES, base))
          .isInstanceOf(ImageRefusedException.class)
          .hasMessageContaining("in use");
      assertThatThrownBy(() -> Resizer.resize(StorageProvider.FILES, base, 8L << 20, false))
          .isInstanceOf(ImageRefusedException.class)
          .hasMessageContaining("in use");
    }
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactly("base.vhd");
    }
  }
}
