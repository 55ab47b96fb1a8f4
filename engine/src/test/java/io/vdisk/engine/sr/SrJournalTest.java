package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SR journal records are input like any file: each typed operation encodes and decodes to itself, a
 * record that cannot be finished is rolled back, one that does not decode (or points outside the
 * SR) is set aside with a warning and changes nothing, and sr-scan clears what was set aside.
 */
class SrJournalTest {
  private static final String A = "11111111-1111-4111-8111-111111111111";
  private static final String B = "22222222-2222-4222-8222-222222222222";
  private static final String C = "33333333-3333-4333-8333-333333333333";
  private static final String D = "44444444-4444-4444-8444-444444444444";

  @TempDir Path dir;
  private int records;

  /** One instance of every permitted operation; the test fails when a new one is not listed. */
  static List<SrOp> everyOp() {
    Catalog.Vdi row = new Catalog.Vdi(A, "n", "d", false, true, B, true);
    Catalog.Vm vm = new Catalog.Vm(A, "vm", "", 2, 1L << 30, true, false, null, "{}");
    List<SrOp.Disk> disks = List.of(new SrOp.Disk(A, B, C, D));
    return List.of(
        new SrOp.VdiCreate(A, "name = x", "", 8L << 20),
        new SrOp.VdiSnapshot(A, B, C, true, "snap", "desc"),
        new SrOp.VdiLink(A, B, C, false, "clone", ""),
        new SrOp.VdiCopy(A, B, "copy", ""),
        new SrOp.VdiDestroy(A, row),
        new SrOp.VdiDestroy(A, null),
        new SrOp.VmClone(A, B, "c", disks),
        new SrOp.VmCopy(A, B, "c", disks),
        new SrOp.VmSnapshot(A, B, null, disks),
        new SrOp.VmUninstall(
            A,
            List.of(B, C),
            new OpFields.VmRow(vm, List.of(new Catalog.Vbd(D, A, B, "0", true, "RW")))),
        new SrOp.VmRevert(A, B, disks, List.of(new SrOp.Disk(C, D, null, null))),
        new SrOp.XvaImport(List.of(A, B)));
  }

  @Test
  void everyOperationDecodesToItself() throws Exception {
    java.util.Set<Class<?>> seen = new java.util.HashSet<>();
    for (SrOp op : everyOp()) {
      assertThat(SrOp.decode(SrOp.record(op))).as(op.op()).isEqualTo(op);
      seen.add(op.getClass());
    }
    for (Class<?> c : SrOp.class.getPermittedSubclasses()) {
      if (c.isInterface()) {
        for (Class<?> sub : c.getPermittedSubclasses()) {
          assertThat(seen).as("an example of " + sub.getSimpleName()).contains(sub);
        }
      } else {
        assertThat(seen).as("an example of " + c.getSimpleName()).contains(c);
      }
    }
  }

  private Path record(Map<String, String> values) throws Exception {
    Path j = Files.createDirectories(dir.resolve("journal"));
    java.util.Properties p = new java.util.Properties();
    p.putAll(values);
    Path f = j.resolve(String.format("%016d-000001-x-%s.journal", ++records, A));
    try (var w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
      p.store(w, null);
    }
    return f;
  }

  private List<String> journalFiles() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("journal"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aRecordThatCannotBeFinishedIsRolledBackWithAWarning() throws Exception {
    StorageRepository.create(dir, "setup").close();
    record(Map.of("op", "vdi-copy", "vdi", A, "new", B, "name", "x", "description", ""));
    try (StorageRepository sr = StorageRepository.open(dir, true, "next")) {
      assertThat(sr.warnings())
          .singleElement()
          .asString()
          .contains("vdi-copy could not be finished")
          .contains("rolled back");
      assertThat(SrMaintenance.scan(sr)).isEmpty();
    }
    assertThat(journalFiles()).isEmpty();
  }

  @Test
  void hostileRecordsAreSetAsideAndTouchNothing() throws Exception {
    StorageRepository.create(dir, "setup").close();
    Path victim = Files.writeString(dir.getParent().resolve("victim-" + System.nanoTime()), "keep");
    Map<String, String> escape = new LinkedHashMap<>();
    escape.put("op", "xva-import");
    escape.put("file.1", "../" + victim.getFileName());
    record(escape);
    try (StorageRepository sr = StorageRepository.open(dir, true, "next")) {
      assertThat(sr.warnings())
          .singleElement()
          .asString()
          .contains("set aside, nothing done")
          .contains("is not a UUID");
      assertThat(SrMaintenance.scan(sr))
          .anyMatch(l -> l.contains("xva-import could not be finished"));
    }
    assertThat(Files.readString(victim)).isEqualTo("keep");
    Files.delete(victim);
    // Not a UUID, an unknown op, not a record at all: each set aside, none fatal.
    for (Map<String, String> bad :
        List.of(
            Map.of("op", "vm-clone", "vm", "x", "new", B, "disks", "0"),
            Map.of("op", "format-disk"),
            Map.of("op", "vdi-create", "new", A, "name", "x", "description", "", "size", "-1"))) {
      record(bad);
      try (StorageRepository sr = StorageRepository.open(dir, true, "next")) {
        assertThat(sr.warnings()).as(bad.toString()).hasSize(1);
      }
    }
    try (StorageRepository sr = StorageRepository.open(dir, true, "scan")) {
      assertThat(SrMaintenance.clearFailed(sr)).isEqualTo(4);
    }
    assertThat(journalFiles()).isEmpty();
  }
}
