package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.ParentLocator;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child whose header puts a parent locator where it must not be (over its own BAT, or with a
 * space that runs far past the end): check calls it an error, and a coalesce of its parent, which
 * relinks it, writes the new path into fresh space instead, so the child keeps every byte.
 */
class HostileLocatorTest {
  @TempDir Path dir;

  private void chain() throws Exception {
    TestDisks.dynamic(dir.resolve("base.vhd"), 4L << 20, 4096);
    try (DiskChain d = DiskChain.open(dir.resolve("base.vhd"), false)) {
      d.write(0, TestDisks.filled(8192, 0x11));
    }
    Snapshots.createChild(dir.resolve("base.vhd"), dir.resolve("mid.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("mid.vhd"), false)) {
      d.write(4096, TestDisks.filled(4096, 0x22));
    }
    Snapshots.createChild(dir.resolve("mid.vhd"), dir.resolve("leaf.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("leaf.vhd"), false)) {
      for (int b = 0; b < 64; b++) {
        d.write(b * 65536L + 512, TestDisks.filled(512, 0x30 + b)); // many BAT entries in use
      }
    }
  }

  /** Rewrites the leaf's header with locator 0 moved (a valid checksum: check must look). */
  private void patchLocator(long offset, int space) throws Exception {
    Path leaf = dir.resolve("leaf.vhd");
    try (FileChannel ch =
        FileChannel.open(leaf, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer hb = ByteBuffer.allocate(DynamicHeader.SIZE);
      ch.read(hb, 512);
      DynamicHeader h = DynamicHeader.parse(hb.flip());
      List<ParentLocator> locs = new ArrayList<>(h.locators());
      ParentLocator l = locs.get(0);
      locs.set(0, new ParentLocator(l.platformCode(), space, l.dataLength(), 0, offset));
      DynamicHeader bad = h.withParent(h.parentUuid(), h.parentTimestamp(), h.parentName(), locs);
      ch.write(bad.toBuffer(), 512);
    }
  }

  private void assertCoalesceKeepsTheLeaf(String overlapsWhat) throws Exception {
    Path leaf = dir.resolve("leaf.vhd");
    byte[] view = TestDisks.readAll(leaf);
    assertThat(ImageChecker.check(leaf))
        .anyMatch(
            f -> f.severity() == Finding.Severity.ERROR && f.message().contains(overlapsWhat));
    long before = Files.size(leaf);
    Coalescer.coalesce(StorageProvider.FILES, dir.resolve("mid.vhd"), false);
    assertThat(TestDisks.readAll(leaf)).as("the leaf keeps every byte").isEqualTo(view);
    assertThat(Files.size(leaf)).as("no more than a few sectors more").isLessThan(before + 8192);
    assertThat(ImageChecker.check(leaf)).isEmpty();
    try (DiskChain c = DiskChain.open(leaf, true)) {
      assertThat(c.paths().get(1).getFileName().toString()).isEqualTo("base.vhd");
    }
  }

  @Test
  void aLocatorOverTheChildsOwnBatIsNeverWrittenThere() throws Exception {
    chain();
    patchLocator(1536, 512);
    assertCoalesceKeepsTheLeaf("overlaps the BAT");
  }

  @Test
  void aLocatorWhoseSpaceRunsPastTheEndIsNotZeroFilled() throws Exception {
    chain();
    patchLocator(Files.size(dir.resolve("leaf.vhd")) - 4096, 256 << 20);
    assertCoalesceKeepsTheLeaf("outside the file");
  }
}
