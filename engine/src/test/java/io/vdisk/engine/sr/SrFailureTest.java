package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.FailingStorage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.TempFiles;
import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.XvaCompression;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A verb that fails (here: a full disk at each of its file operations in turn, the process living
 * on) rolls its own journal back before it reports the failure: the SR is as it was, no record is
 * left for the next command to finish, and the next command changes nothing. Only a process that
 * dies leaves work to be finished ({@link SrCrashTest}).
 */
class SrFailureTest {
  @TempDir Path tmp;

  private static Map<String, String> setUp(StorageRepository sr) throws Exception {
    return SrCrashTest.setUp(sr);
  }

  private static void run(StorageRepository sr, String op, Map<String, String> ids, byte[] xva)
      throws Exception {
    switch (op) {
      case "vdi-create" -> Vdis.create(sr, "new", "", 4L << 20);
      case "vdi-snapshot" -> Vdis.snapshot(sr, ids.get("vmDisk"));
      case "vdi-snapshot-cbt" -> Vdis.snapshot(sr, ids.get("data")); // its CBT log rotates
      case "vdi-clone-empty" -> Vdis.clone(sr, ids.get("disk")); // an empty leaf: vdi-link
      case "vdi-copy" -> Vdis.copy(sr, ids.get("vmDisk"), "copy");
      case "vdi-destroy" -> Vdis.destroy(sr, ids.get("snap"));
      case "vdi-resize" -> Vdis.resize(sr, ids.get("data"), 64L << 20);
      case "vdi-import" ->
          VdiContents.importFrom(
              sr,
              ids.get("data"),
              new ByteArrayInputStream(new byte[1 << 20]),
              io.vdisk.engine.Disks.Format.RAW,
              io.vdisk.engine.Progress.NONE);
      case "vm-clone" -> Vms.cloneVm(sr, ids.get("vm"), "vm2");
      case "vm-copy" -> Vms.copyVm(sr, ids.get("vm"), "vm3");
      case "vm-snapshot" -> Vms.snapshotVm(sr, ids.get("vm"), "snap");
      case "vm-uninstall" -> Vms.uninstall(sr, ids.get("vm"));
      case "xva-import" -> XvaTransfer.importVm(sr, new ByteArrayInputStream(xva), false);
      case "snapshot-revert" -> Vms.revert(sr, ids.get("vmSnap"));
      default -> throw new IllegalArgumentException(op);
    }
  }

  /** The files (but the catalog, lock and journal) and what every VDI and VM is. */
  private static Map<String, Object> state(Path dir) throws Exception {
    Map<String, Object> s = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        if (!Files.isDirectory(f) && !n.startsWith("sr.")) {
          s.put("file " + n, n.endsWith(".vhd") ? "vhd" : Files.size(f));
        }
      }
    }
    try (StorageRepository sr = StorageRepository.open(dir, false, "state")) {
      for (StorageRepository.VdiView v : sr.vdis()) {
        s.put(
            "vdi " + v.uuid(),
            List.of(v.name(), v.readOnly(), v.managed(), v.virtualSize(), v.vms()).toString());
        if (v.managed()) {
          s.put("data " + v.uuid(), java.util.Arrays.hashCode(SrStoryTest.read(sr, v.uuid())));
        }
      }
      for (Vms.VmView vm : Vms.list(sr, null)) {
        s.put("vm " + vm.uuid(), vm.toString());
      }
    }
    return s;
  }

  /** What differs between two states, one line per key. */
  private static List<String> diff(Map<String, Object> a, Map<String, Object> b) {
    List<String> out = new ArrayList<>();
    java.util.Set<String> keys = new java.util.TreeSet<>(a.keySet());
    keys.addAll(b.keySet());
    for (String k : keys) {
      if (!java.util.Objects.equals(a.get(k), b.get(k))) {
        out.add(k + ": " + a.get(k) + " -> " + b.get(k));
      }
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "vdi-create",
        "vdi-snapshot",
        "vdi-snapshot-cbt",
        "vdi-clone-empty",
        "vdi-copy",
        "vdi-destroy",
        "vdi-resize",
        "vdi-import",
        "vm-clone",
        "vm-copy",
        "vm-snapshot",
        "vm-uninstall",
        "snapshot-revert",
        "xva-import"
      })
  void aFailedVerbLeavesTheSrAsItWas(String op) throws Exception {
    byte[] xva;
    Path src = Files.createDirectories(tmp.resolve("src"));
    try (StorageRepository sr = StorageRepository.create(src, "setup")) {
      Map<String, String> ids = setUp(sr);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      XvaTransfer.export(sr, ids.get("vm"), out, XvaCompression.NONE, ChunkChecksum.SHA1);
      xva = out.toByteArray();
    }
    int total = -1;
    List<Integer> failures = new ArrayList<>();
    for (int n = 0; total < 0 || n < total; n++) {
      Path dir = Files.createDirectories(tmp.resolve(op + "-" + n));
      Map<String, String> ids;
      try (StorageRepository sr = StorageRepository.create(dir, "setup")) {
        ids = new java.util.HashMap<>(setUp(sr));
        if (op.equals("snapshot-revert")) {
          ids.put("vmSnap", Vms.snapshotVm(sr, ids.get("vm"), "before"));
          SrStoryTest.write(sr, ids.get("vmDisk"), 0, 4096, 0x44);
        }
      }
      Map<String, Object> before = state(dir);
      FailingStorage fail = new FailingStorage(n);
      boolean threw = false;
      try (StorageRepository sr = StorageRepository.open(dir, true, op, fail)) {
        run(sr, op, ids, xva);
      } catch (java.io.IOException e) {
        threw = true;
      }
      if (total < 0 && !fail.failed()) {
        total = fail.count(); // the first run that did not fail counted every operation
      }
      String where = op + " failing at operation " + n;
      if (!fail.failed()) {
        break;
      }
      if (!threw) {
        continue; // the failure was absorbed (a cleanup step); the verb succeeded
      }
      failures.add(n);
      assertThat(diff(before, state(dir))).as(where).isEmpty();
      try (Stream<Path> s = Files.list(dir.resolve("journal"))) {
        assertThat(s.map(p -> p.getFileName().toString()))
            .as(where + ": no record left to finish later")
            .noneMatch(x -> x.endsWith(".journal") || x.endsWith(".failed"));
      }
      try (Stream<Path> s = Files.list(dir)) {
        assertThat(s).as(where + ": no temporary file").noneMatch(TempFiles::isTemp);
      }
      try (StorageRepository sr =
          StorageRepository.open(dir, true, "next", StorageProvider.FILES)) {
        assertThat(sr.warnings()).as(where).isEmpty();
      }
      assertThat(diff(before, state(dir))).as(where + ", after the next open").isEmpty();
    }
    assertThat(failures).as(op + ": some failure points were exercised").isNotEmpty();
  }
}
