package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.vdisk.engine.io.StorageProvider;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Kills coalesce, in-place snapshot, resize and flatten at every mutating operation across all
 * files, then checks: every name still opens and reads what it read before, nothing half-done sits
 * under a final name, and recovery (the next coalesce / check --repair) finishes the work.
 */
class MultiFileCrashTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = BLOCK * 12L;

  /** base ← mid ← leaf, each with data; returns the leaf's contents. */
  private static byte[] chain(Path dir) throws Exception {
    TestDisks.dynamic(dir.resolve("base.vhd"), SIZE, BLOCK);
    try (DiskChain d = DiskChain.open(dir.resolve("base.vhd"), false)) {
      d.write(0, TestDisks.filled(5 * BLOCK, 0x11));
    }
    Snapshots.createChild(dir.resolve("base.vhd"), dir.resolve("mid.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("mid.vhd"), false)) {
      d.write(BLOCK + 512, TestDisks.filled(1536, 0x22));
      d.write(7 * BLOCK, TestDisks.filled(2 * BLOCK, 0x23));
    }
    Snapshots.createChild(dir.resolve("mid.vhd"), dir.resolve("leaf.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("leaf.vhd"), false)) {
      d.write(2 * BLOCK, TestDisks.filled(1024, 0x33));
    }
    return TestDisks.readAll(dir.resolve("leaf.vhd"));
  }

  @Test
  void coalesceSurvivesACrashAtEveryOperation() throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      try (FileSystem fs = TestDisks.memoryFs()) {
        Path dir = TestDisks.dir(fs);
        byte[] leafView = chain(dir);
        byte[] midView = TestDisks.readAll(dir.resolve("mid.vhd"));
        CuttingStorage cutter = new CuttingStorage(cut);
        try {
          Coalescer.coalesce(cutter, dir.resolve("mid.vhd"), false);
          total = cutter.count();
        } catch (CuttingStorage.Crash expected) {
          // died part way
        }
        String where = "cut at " + cut;
        assertThat(TestDisks.readAll(dir.resolve("leaf.vhd")))
            .as(where + ", before recovery")
            .isEqualTo(leafView);
        if (Files.exists(dir.resolve("mid.vhd"))) {
          assertThat(TestDisks.readAll(dir.resolve("mid.vhd"))).as(where).isEqualTo(midView);
        }
        byte[] baseBefore = TestDisks.readAll(dir.resolve("base.vhd"));
        Coalescer.recover(StorageProvider.FILES, dir);
        if (Files.exists(dir.resolve("mid.vhd"))) {
          // Died before the journal existed: nothing was written; the next coalesce does it all.
          assertThat(TestDisks.readAll(dir.resolve("base.vhd"))).as(where).isEqualTo(baseBefore);
          Coalescer.coalesce(StorageProvider.FILES, dir.resolve("mid.vhd"), false);
        }
        assertThat(TestDisks.readAll(dir.resolve("leaf.vhd")))
            .as(where + ", after recovery")
            .isEqualTo(leafView);
        assertThat(TestDisks.readAll(dir.resolve("base.vhd"))).as(where).isEqualTo(midView);
        try (DiskChain c = DiskChain.open(dir.resolve("leaf.vhd"), true)) {
          assertThat(c.depth()).isEqualTo(2);
        }
        assertThat(ImageChecker.check(dir.resolve("leaf.vhd"))).as(where).isEmpty();
        try (Stream<Path> s = Files.list(dir)) {
          assertThat(s.map(p -> p.getFileName().toString()))
              .as(where)
              .containsExactlyInAnyOrder("base.vhd", "leaf.vhd");
        }
      }
      if (cut > 500) {
        fail("coalesce never completed");
      }
    }
    assertThat(total).isGreaterThan(10);
  }

  @Test
  void inPlaceSnapshotSurvivesACrashAtEveryOperation() throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      try (FileSystem fs = TestDisks.memoryFs()) {
        Path dir = TestDisks.dir(fs);
        byte[] view = chain(dir);
        CuttingStorage cutter = new CuttingStorage(cut);
        Path base = null;
        try {
          base = Snapshots.snapshotInPlace(cutter, dir.resolve("leaf.vhd"));
          total = cutter.count();
        } catch (CuttingStorage.Crash expected) {
          // died part way
        }
        String where = "cut at " + cut;
        assertThat(TestDisks.readAll(dir.resolve("leaf.vhd"))).as(where).isEqualTo(view);
        assertThat(ImageChecker.check(dir.resolve("leaf.vhd")))
            .as(where)
            .allMatch(f -> f.repairable());
        if (base != null) {
          try (DiskChain c = DiskChain.open(dir.resolve("leaf.vhd"), true)) {
            assertThat(c.depth()).isEqualTo(4);
            assertThat(c.layers().get(1).footer().isHidden()).isTrue();
          }
        }
      }
    }
  }

  @Test
  void resizeSurvivesACrashAtEveryOperation() throws Exception {
    for (long newSize : new long[] {SIZE + 512 * 3, SIZE * 40}) {
      int total = -1;
      for (int cut = 0; total < 0 || cut <= total; cut++) {
        try (FileSystem fs = TestDisks.memoryFs()) {
          Path dir = TestDisks.dir(fs);
          byte[] view = chain(dir);
          CuttingStorage cutter = new CuttingStorage(cut);
          try {
            Resizer.resize(cutter, dir.resolve("leaf.vhd"), newSize, false);
            total = cutter.count();
          } catch (CuttingStorage.Crash expected) {
            // died part way
          }
          String where = "size " + newSize + ", cut at " + cut;
          byte[] after = TestDisks.readAll(dir.resolve("leaf.vhd"));
          assertThat(after.length).as(where).isIn((int) SIZE, (int) newSize);
          assertThat(java.util.Arrays.copyOf(after, (int) SIZE)).as(where).isEqualTo(view);
          for (int i = (int) SIZE; i < after.length; i++) {
            assertThat(after[i]).as(where + ": byte %d past the old end", i).isZero();
          }
          if (!cutter.crashed()) {
            assertThat(after.length).isEqualTo((int) newSize);
            assertThat(ImageChecker.check(dir.resolve("leaf.vhd")))
                .as(where)
                .allMatch(f -> f.severity() == Finding.Severity.WARNING);
          }
        }
      }
    }
  }

  @Test
  void newChildIsVisibleOnlyWhenComplete() throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      try (FileSystem fs = TestDisks.memoryFs()) {
        Path dir = TestDisks.dir(fs);
        byte[] view = chain(dir);
        CuttingStorage cutter = new CuttingStorage(cut);
        try {
          Snapshots.createChild(cutter, dir.resolve("leaf.vhd"), dir.resolve("new.vhd"));
          total = cutter.count();
        } catch (CuttingStorage.Crash expected) {
          // died part way
        }
        if (Files.exists(dir.resolve("new.vhd"))) {
          assertThat(TestDisks.readAll(dir.resolve("new.vhd"))).as("cut at " + cut).isEqualTo(view);
          assertThat(ImageChecker.check(dir.resolve("new.vhd"))).isEmpty();
        } else {
          assertThat(cutter.crashed()).isTrue();
        }
      }
    }
  }

  @Test
  void ancestorSmallerThanTheChildReadsAsZerosPastItsEnd() throws Exception {
    try (FileSystem fs = TestDisks.memoryFs()) {
      Path dir = TestDisks.dir(fs);
      chain(dir);
      // Built as a user with --force would: writing and growing parents deliberately.
      try (DiskChain d =
          DiskChain.open(
              dir.resolve("base.vhd"),
              StorageProvider.Access.WRITE,
              StorageProvider.FILES,
              null,
              WriteRule.Grant.FORCE)) {
        d.write(SIZE - 512, TestDisks.filled(512, 0x44));
      }
      Resizer.resize(
          StorageProvider.FILES, dir.resolve("mid.vhd"), SIZE * 3, false, WriteRule.Grant.FORCE);
      Resizer.resize(StorageProvider.FILES, dir.resolve("leaf.vhd"), SIZE * 3, false);
      byte[] all = TestDisks.readAll(dir.resolve("leaf.vhd"));
      assertThat(all).hasSize((int) SIZE * 3);
      assertThat(all[(int) SIZE - 1]).isEqualTo((byte) 0x44);
      for (int i = (int) SIZE; i < all.length; i++) {
        assertThat(all[i]).as("byte %d", i).isZero();
      }
      assertThat(ImageChecker.check(dir.resolve("leaf.vhd")))
          .anyMatch(f -> f.message().contains("ancestor is smaller"));
    }
  }

  @Test
  void flattenIsVisibleOnlyWhenComplete() throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      try (FileSystem fs = TestDisks.memoryFs()) {
        Path dir = TestDisks.dir(fs);
        byte[] view = chain(dir);
        CuttingStorage cutter = new CuttingStorage(cut);
        try (DiskChain src = DiskChain.open(dir.resolve("leaf.vhd"), true)) {
          Converter.convert(
              cutter, src, dir.resolve("flat.vhd"), Converter.Target.VHD, Progress.NONE);
          total = cutter.count();
        } catch (CuttingStorage.Crash expected) {
          // died part way
        }
        if (Files.exists(dir.resolve("flat.vhd"))) {
          assertThat(TestDisks.readAll(dir.resolve("flat.vhd")))
              .as("cut at " + cut)
              .isEqualTo(view);
        } else {
          assertThat(cutter.crashed()).isTrue();
        }
      }
    }
  }
}
