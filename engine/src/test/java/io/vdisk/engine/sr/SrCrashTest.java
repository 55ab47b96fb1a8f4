package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.CuttingStorage;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kills every journaled operation ({@link SrOp}'s permitted types, so none is forgotten) and gc at
 * every file operation; the next open of the SR finishes the journaled work: every VDI reads as
 * before, the catalog and the files agree, and the operation is either wholly done or (killed
 * before its journal) not at all.
 */
class SrCrashTest {
  @TempDir Path tmp;

  /** A template (disk with data), one clone VM with its own data, one VDI snapshot. */
  static Map<String, String> setUp(StorageRepository sr) throws Exception {
    String disk = Vdis.create(sr, "root", "", 8L << 20);
    SrStoryTest.write(sr, disk, 0, 1 << 20, 0x11);
    String t = Vms.create(sr, "tmpl", "", 1, 1 << 20);
    Vms.createVbd(sr, t, disk, "0", true, "RW");
    Vms.setParams(sr, t, Map.of("is-a-template", "true"));
    String vm = Vms.cloneVm(sr, t, "vm");
    String vmDisk = Vms.get(sr, vm).disks().get(0).vdi();
    SrStoryTest.write(sr, vmDisk, 4096, 8192, 0x22);
    String data = Vdis.create(sr, "data", "", 4L << 20);
    SrStoryTest.write(sr, data, 512, 512, 0x33);
    Cbt.enable(sr, data);
    String snap = Vdis.snapshot(sr, data);
    SrStoryTest.write(sr, data, 1024, 512, 0x34);
    return Map.of(
        "disk", disk, "template", t, "vm", vm, "vmDisk", vmDisk, "data", data, "snap", snap);
  }

  /** What makes each journaled operation run, in an SR made by {@link #setUp}. */
  @FunctionalInterface
  interface Scenario {
    void run(StorageRepository sr, Map<String, String> ids) throws Exception;
  }

  /** One scenario per permitted {@link SrOp} (checked below), and the GC's coalesce. */
  static final Map<String, Scenario> SCENARIOS =
      Map.ofEntries(
          Map.entry("VdiCreate", (sr, ids) -> Vdis.create(sr, "new", "", 4L << 20)),
          Map.entry("VdiSnapshot", (sr, ids) -> Vdis.snapshot(sr, ids.get("data"))),
          Map.entry("VdiLink", (sr, ids) -> Vdis.clone(sr, ids.get("disk"))),
          Map.entry("VdiCopy", (sr, ids) -> Vdis.copy(sr, ids.get("vmDisk"), "copy")),
          Map.entry("VdiDestroy", (sr, ids) -> Vdis.destroy(sr, ids.get("snap"))),
          Map.entry("VmClone", (sr, ids) -> Vms.cloneVm(sr, ids.get("vm"), "vm2")),
          Map.entry("VmCopy", (sr, ids) -> Vms.copyVm(sr, ids.get("vm"), "vm3")),
          Map.entry("VmSnapshot", (sr, ids) -> Vms.snapshotVm(sr, ids.get("vm"), "s")),
          Map.entry("VmUninstall", (sr, ids) -> Vms.uninstall(sr, ids.get("vm"))),
          Map.entry(
              "VmRevert", (sr, ids) -> Vms.revert(sr, Vms.snapshotVm(sr, ids.get("vm"), "before"))),
          Map.entry(
              "XvaImport",
              (sr, ids) -> {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                XvaTransfer.export(
                    sr,
                    ids.get("vm"),
                    out,
                    io.vdisk.engine.xva.XvaCompression.NONE,
                    io.vdisk.engine.xva.ChunkChecksum.SHA1);
                XvaTransfer.importVm(
                    sr, new java.io.ByteArrayInputStream(out.toByteArray()), false);
              }),
          Map.entry(
              "gc",
              (sr, ids) -> {
                Vdis.destroy(sr, ids.get("snap"));
                SrMaintenance.gc(sr);
              }));

  /** Every operation the journal knows, by simple name: a new one without a scenario fails. */
  static java.util.stream.Stream<String> operations() {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Class<?> c : SrOp.class.getPermittedSubclasses()) {
      if (c.isInterface()) {
        for (Class<?> sub : c.getPermittedSubclasses()) {
          out.add(sub.getSimpleName());
        }
      } else {
        out.add(c.getSimpleName());
      }
    }
    out.add("gc");
    return out.stream();
  }

  /**
   * Every snapshot of the CBT-enabled VDI: its logs either refuse (inconsistent) or name at least
   * every block the chains say changed.
   */
  private static void logsNeverMissAChange(StorageRepository sr, String data, String where)
      throws Exception {
    for (StorageRepository.VdiView v : sr.vdis()) {
      if (!v.snapshot() || !Cbt.enabled(sr, v.uuid())) {
        continue;
      }
      org.roaringbitmap.RoaringBitmap exact = Cbt.changed(sr, v.uuid(), data).blocks();
      try {
        org.roaringbitmap.RoaringBitmap logged =
            Cbt.changed(sr, v.uuid(), data, null, null).blocks();
        assertThat(org.roaringbitmap.RoaringBitmap.andNot(exact, logged).isEmpty())
            .as(where + ": the logs miss blocks " + exact + " vs " + logged)
            .isTrue();
      } catch (SrException refused) {
        assertThat(refused).as(where).hasMessageContaining("inconsistent");
      }
    }
  }

  @org.junit.jupiter.api.Test
  void everyOperationHasAScenario() {
    assertThat(SCENARIOS.keySet()).containsExactlyInAnyOrderElementsOf(operations().toList());
  }

  @ParameterizedTest
  @MethodSource("operations")
  void everyCutIsFinishedByTheNextOpen(String op) throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      Path dir = Files.createDirectories(tmp.resolve(op + "-" + cut));
      Map<String, String> ids;
      Map<String, byte[]> before = new HashMap<>();
      try (StorageRepository sr = StorageRepository.create(dir, "setup")) {
        ids = setUp(sr);
        for (StorageRepository.VdiView v : sr.vdis()) {
          if (v.managed()) {
            before.put(v.uuid(), SrStoryTest.read(sr, v.uuid()));
          }
        }
      }
      CuttingStorage cutter = new CuttingStorage(cut);
      try (StorageRepository sr = StorageRepository.open(dir, true, op, cutter)) {
        SCENARIOS.get(op).run(sr, ids);
        total = cutter.count();
      } catch (java.io.IOException killed) {
        // killed part way (the crash, perhaps wrapped by the layer it went through)
        assertThat(cutter.crashed()).as(op + " failed without being killed: " + killed).isTrue();
      }
      String where = op + " killed at operation " + cut;
      try (StorageRepository sr =
          StorageRepository.open(dir, true, "next", StorageProvider.FILES)) {
        List<StorageRepository.VdiView> vdis = sr.vdis();
        for (Map.Entry<String, byte[]> e : before.entrySet()) {
          boolean gone = vdis.stream().noneMatch(v -> v.uuid().equals(e.getKey()));
          if (gone) {
            assertThat(op)
                .as(where + ": " + e.getKey() + " vanished")
                .isIn("VmUninstall", "VdiDestroy", "VmRevert", "gc");
            continue;
          }
          assertThat(SrStoryTest.read(sr, e.getKey()))
              .as(where + ": " + e.getKey())
              .isEqualTo(e.getValue());
        }
        for (StorageRepository.VdiView v : vdis) {
          assertThat(v.problem()).as(where + ": " + v.uuid()).isNull();
        }
        assertThat(SrMaintenance.scan(sr)).as(where).isEmpty();
        logsNeverMissAChange(sr, ids.get("data"), where);
        try (Stream<Path> s = Files.list(dir.resolve("journal"))) {
          assertThat(s.filter(p -> p.toString().endsWith(".journal"))).as(where).isEmpty();
        }
      }
      if (cut > 2000) {
        throw new AssertionError(op + " never completed");
      }
    }
  }
}
