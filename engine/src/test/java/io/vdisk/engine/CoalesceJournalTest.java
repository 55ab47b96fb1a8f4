package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Coalesce journals are input like any file: one that names a file outside its directory, a file
 * whose UUID is not the one recorded, or a malformed UUID is set aside with a warning and nothing
 * is touched; a coalesce asked for again after an interruption says it finished the earlier one.
 */
class CoalesceJournalTest {
  @TempDir Path root;

  private Path dir;

  private Map<String, String> hashes(Path d) throws Exception {
    Map<String, String> m = new TreeMap<>();
    try (Stream<Path> s = Files.list(d)) {
      for (Path f : s.toList()) {
        if (Files.isRegularFile(f)) {
          m.put(
              f.getFileName().toString(),
              HexFormat.of()
                  .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
        }
      }
    }
    return m;
  }

  /** base ← mid ← leaf in {@code root/images}. */
  private void chain() throws Exception {
    dir = Files.createDirectories(root.resolve("images"));
    TestDisks.dynamic(dir.resolve("base.vhd"), 4L << 20, 4096);
    try (DiskChain d = DiskChain.open(dir.resolve("base.vhd"), false)) {
      d.write(0, TestDisks.filled(8192, 0x11));
    }
    Snapshots.createChild(dir.resolve("base.vhd"), dir.resolve("mid.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("mid.vhd"), false)) {
      d.write(4096, TestDisks.filled(4096, 0x22));
    }
    Snapshots.createChild(dir.resolve("mid.vhd"), dir.resolve("leaf.vhd"));
  }

  private String uuid(String name) throws Exception {
    try (VhdImage i =
        VhdImage.open(
            StorageProvider.FILES.open(dir.resolve(name), StorageProvider.Access.PEEK), true)) {
      return i.footer().uniqueId().toString();
    }
  }

  private Path journal(String text) throws Exception {
    return Files.writeString(
        dir.resolve(".vdisk-coalesce-" + uuid("mid.vhd") + ".journal"),
        text,
        StandardCharsets.UTF_8);
  }

  @Test
  void aJournalNamingAFileOutsideItsDirectoryIsSetAside() throws Exception {
    chain();
    Path victim = Files.writeString(root.resolve("victim.vhd"), "precious");
    journal(
        "vdisk-coalesce 1\nphase relink\nchild "
            + victim
            + "\nchild-uuid "
            + uuid("mid.vhd")
            + "\nparent "
            + dir.resolve("base.vhd")
            + "\nparent-uuid "
            + uuid("base.vhd")
            + "\nunhide false\n");
    Map<String, String> before = hashes(dir);
    Coalescer.Recovery r = Coalescer.recover(StorageProvider.FILES, dir);
    assertThat(r.finished()).isEmpty();
    assertThat(r.warnings()).singleElement().asString().contains("not in its directory");
    assertThat(Files.readString(victim)).isEqualTo("precious");
    Map<String, String> after = hashes(dir);
    assertThat(after.keySet()).anyMatch(n -> n.endsWith(".journal.failed"));
    after.keySet().removeIf(n -> n.endsWith(".failed"));
    before.keySet().removeIf(n -> n.endsWith(".journal"));
    assertThat(after).isEqualTo(before);
    // the same in the current format: a name with a slash
    journal(
        "format=vdisk-coalesce-2\nphase=merge\nchild=../victim.vhd\nchild-uuid="
            + uuid("mid.vhd")
            + "\nparent=base.vhd\nparent-uuid="
            + uuid("base.vhd")
            + "\nunhide=false\n");
    assertThat(Coalescer.recover(StorageProvider.FILES, dir).warnings())
        .singleElement()
        .asString()
        .contains("not a file name in the journal's directory");
    assertThat(Files.readString(victim)).isEqualTo("precious");
  }

  @Test
  void aJournalWhoseFilesAreNotTheRecordedOnesChangesNothing() throws Exception {
    chain();
    // Claims leaf.vhd is the child to merge into base.vhd: leaf's parent is mid, not base.
    journal(
        "format=vdisk-coalesce-2\nphase=merge\nchild=leaf.vhd\nchild-uuid="
            + uuid("leaf.vhd")
            + "\nparent=base.vhd\nparent-uuid="
            + uuid("base.vhd")
            + "\nunhide=false\n");
    Map<String, String> before = hashes(dir);
    byte[] leafView = TestDisks.readAll(dir.resolve("leaf.vhd"));
    Coalescer.Recovery r = Coalescer.recover(StorageProvider.FILES, dir);
    assertThat(r.warnings()).singleElement().asString().contains("is not the child");
    Map<String, String> after = hashes(dir);
    after.keySet().removeIf(n -> n.endsWith(".failed"));
    before.keySet().removeIf(n -> n.endsWith(".journal"));
    assertThat(after).isEqualTo(before);
    assertThat(TestDisks.readAll(dir.resolve("leaf.vhd"))).isEqualTo(leafView);
    // A malformed UUID is the same: set aside, not a crash.
    journal(
        "format=vdisk-coalesce-2\nphase=merge\nchild=mid.vhd\nchild-uuid=zzz\nparent=base.vhd\n");
    assertThat(Coalescer.recover(StorageProvider.FILES, dir).warnings())
        .singleElement()
        .asString()
        .contains("is not a UUID");
  }

  @Test
  void coalescingAgainAfterAnInterruptionReportsTheEarlierOneFinished() throws Exception {
    chain();
    byte[] leafView = TestDisks.readAll(dir.resolve("leaf.vhd"));
    // Kill the coalesce once its merge is journaled and half done.
    int cut = 0;
    for (; ; cut++) {
      chainAgain();
      CuttingStorage c = new CuttingStorage(cut);
      try {
        Coalescer.coalesce(c, dir.resolve("mid.vhd"), false);
      } catch (CuttingStorage.Crash e) {
        // killed
      }
      try (Stream<Path> s = Files.list(dir)) {
        if (s.anyMatch(p -> p.getFileName().toString().endsWith(".journal"))) {
          break;
        }
      }
    }
    Coalescer.Result r = Coalescer.coalesce(StorageProvider.FILES, dir.resolve("mid.vhd"), false);
    assertThat(r.finishedEarlier()).isTrue();
    assertThat(Files.exists(dir.resolve("mid.vhd"))).isFalse();
    assertThat(TestDisks.readAll(dir.resolve("leaf.vhd"))).isEqualTo(leafView);
  }

  private void chainAgain() throws Exception {
    if (dir != null) {
      try (Stream<Path> s = Files.list(dir)) {
        for (Path f : s.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
    chain();
  }
}
