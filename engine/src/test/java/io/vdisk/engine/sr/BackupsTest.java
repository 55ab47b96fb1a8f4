package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.CuttingStorage;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delta backups: every run restores to the VM as it was then, {@code keep} merges the oldest runs
 * away without changing what the others restore to, a manifest that does not match its files is
 * refused, and a run killed at any file operation (its merge included) is finished by the next.
 */
class BackupsTest {
  private static final long SIZE = 6L << 20;

  @TempDir Path tmp;

  private static String vm(StorageRepository sr) throws Exception {
    String disk = Vdis.create(sr, "root", "", SIZE);
    String data = Vdis.create(sr, "data", "", SIZE / 2);
    String vm = Vms.create(sr, "web", "", 2, 1L << 30);
    Vms.createVbd(sr, vm, disk, "0", true, "RW");
    Vms.createVbd(sr, vm, data, "1", false, "RW");
    return vm;
  }

  /** A digest of each disk, in device order (short failure messages). */
  private static List<String> contents(StorageRepository sr, String vm) throws Exception {
    List<String> out = new ArrayList<>();
    for (Vms.Disk d : Vms.get(sr, vm).disks()) {
      byte[] h =
          java.security.MessageDigest.getInstance("SHA-256").digest(SrStoryTest.read(sr, d.vdi()));
      out.add(java.util.HexFormat.of().formatHex(h, 0, 8));
    }
    return out;
  }

  private static void change(StorageRepository sr, String vm, int round) throws Exception {
    List<Vms.Disk> disks = Vms.get(sr, vm).disks();
    SrStoryTest.write(sr, disks.get(0).vdi(), round * 512L * 7, 512, 0x10 + round);
    SrStoryTest.write(sr, disks.get(0).vdi(), (round % 3) * (2L << 20) + 4096, 4096, 0x20 + round);
    SrStoryTest.write(sr, disks.get(1).vdi(), round * 65536L, 1024, 0x30 + round);
  }

  private static void assertRestores(
      StorageRepository sr, Path vmDir, Backups.Run run, List<String> want) throws Exception {
    String restored = Backups.restore(sr, vmDir, run.time(), "r-" + run.time());
    assertThat(contents(sr, restored)).as("run " + run.time()).containsExactlyElementsOf(want);
    Vms.Disk boot = Vms.get(sr, restored).disks().get(0);
    assertThat(boot.bootable()).isTrue();
    assertThat(boot.device()).isEqualTo("0");
  }

  @Test
  void everyRunRestoresAndKeepMergesTheOldest() throws Exception {
    Path backups = tmp.resolve("backups");
    try (StorageRepository sr = StorageRepository.create(tmp.resolve("sr"), "test")) {
      String vm = vm(sr);
      List<List<String>> states = new ArrayList<>();
      List<Backups.Result> results = new ArrayList<>();
      for (int round = 0; round < 5; round++) {
        change(sr, vm, round);
        states.add(contents(sr, vm));
        results.add(Backups.backup(sr, vm, backups, 3));
      }
      Path vmDir = backups.resolve(vm);
      List<Backups.Run> runs = Backups.runs(vmDir);
      assertThat(runs).hasSize(3);
      assertThat(results.get(0).run().disks()).allMatch(d -> d.parent() == null);
      assertThat(results.get(1).run().disks()).allMatch(d -> d.parent() != null);
      assertThat(results.get(1).bytes()).as("a delta holds the changes only").isLessThan(16384);
      assertThat(results.get(4).merged()).hasSize(1);
      assertThat(runs.get(0).disks())
          .as("the oldest kept run is full now")
          .allMatch(d -> d.parent() == null);
      for (int i = 0; i < 3; i++) {
        assertRestores(sr, vmDir, runs.get(i), states.get(i + 2));
      }
      assertThat(sr.vdis().stream().filter(StorageRepository.VdiView::snapshot))
          .as("one snapshot per disk stays, the next run's base")
          .hasSize(2);
      try (var files = Files.walk(vmDir)) {
        assertThat(files.filter(f -> f.toString().endsWith(".vhd"))).hasSize(6);
      }
    }
  }

  @Test
  void aManifestThatDoesNotMatchItsFilesIsRefused() throws Exception {
    Path backups = tmp.resolve("backups");
    try (StorageRepository sr = StorageRepository.create(tmp.resolve("sr"), "test")) {
      String vm = vm(sr);
      change(sr, vm, 1);
      Backups.backup(sr, vm, backups, 0);
      change(sr, vm, 2);
      Backups.Run run = Backups.backup(sr, vm, backups, 0).run();
      Path vmDir = backups.resolve(vm);
      int vms = Vms.list(sr, false).size();
      Path disk = vmDir.resolve(run.disks().get(0).vdi());
      Path delta = disk.resolve(run.disks().get(0).file());
      Files.move(delta, disk.resolve("elsewhere"));
      assertThatThrownBy(() -> Backups.restore(sr, vmDir, run.time(), null))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("does not match its files")
          .hasMessageContaining("missing");
      Files.move(disk.resolve("elsewhere"), delta);
      Path manifest = vmDir.resolve(run.time() + ".json");
      String text = Files.readString(manifest);
      Files.writeString(manifest, text.replace(run.disks().get(0).file(), "../../../etc.vhd"));
      assertThatThrownBy(() -> Backups.restore(sr, vmDir, run.time(), null))
          .hasMessageContaining("not a backup manifest");
      Files.writeString(
          manifest, text.replace(run.disks().get(0).snapshot(), run.disks().get(1).snapshot()));
      assertThatThrownBy(() -> Backups.restore(sr, vmDir, run.time(), null))
          .hasMessageContaining("does not match its files");
      assertThat(Vms.list(sr, false)).as("nothing restored").hasSize(vms);
    }
  }

  @Test
  void aRunKilledAtAnyOperationIsFinishedByTheNext() throws Exception {
    int total = -1;
    for (int cut = 0; total < 0 || cut <= total; cut++) {
      Path dir = tmp.resolve("c" + cut);
      Path backups = dir.resolve("backups");
      String vm;
      List<String> last;
      List<String> second;
      String secondTime;
      try (StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "setup")) {
        vm = vm(sr);
        change(sr, vm, 1);
        Backups.backup(sr, vm, backups, 2);
        change(sr, vm, 2);
        second = contents(sr, vm);
        secondTime = Backups.backup(sr, vm, backups, 2).run().time();
        change(sr, vm, 3);
        last = contents(sr, vm);
      }
      CuttingStorage cutter = new CuttingStorage(cut);
      try (StorageRepository sr = StorageRepository.open(dir.resolve("sr"), true, "cut", cutter)) {
        Backups.backup(sr, vm, backups, 2); // a delta, then the merge of the oldest
        total = cutter.count();
      } catch (java.io.IOException killed) {
        assertThat(cutter.crashed()).as("failed without being killed: " + killed).isTrue();
      }
      String where = "killed at operation " + cut;
      try (StorageRepository sr =
          StorageRepository.open(dir.resolve("sr"), true, "next", StorageProvider.FILES)) {
        Backups.backup(sr, vm, backups, 2);
        Path vmDir = backups.resolve(vm);
        List<Backups.Run> runs = Backups.runs(vmDir);
        assertThat(runs).as(where).hasSize(2);
        assertRestores(sr, vmDir, runs.get(1), last);
        // the killed run either committed (its run holds the last state) or left nothing
        assertRestores(
            sr, vmDir, runs.get(0), runs.get(0).time().equals(secondTime) ? second : last);
        assertThat(vmDir.resolve(".merge.json")).as(where).doesNotExist();
      }
      if (cut > 3000) {
        throw new AssertionError("never completed");
      }
    }
  }
}
