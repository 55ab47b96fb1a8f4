package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SR story: template, fast clones without depth, clone-of-clone adds depth, vm-copy flattens.
 */
class SrStoryTest {
  private static final long SIZE = 8L << 20;

  @TempDir Path dir;

  static void write(StorageRepository sr, String vdi, long off, int len, int value)
      throws Exception {
    try (io.vdisk.engine.VirtualDisk d = sr.openVdi(vdi, false)) {
      byte[] b = new byte[len];
      Arrays.fill(b, (byte) value);
      d.write(off, ByteBuffer.wrap(b));
    }
  }

  static byte[] read(StorageRepository sr, String vdi) throws Exception {
    try (io.vdisk.engine.VirtualDisk d = sr.openVdi(vdi, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) d.size());
      d.read(0, b);
      return b.array();
    }
  }

  static int depth(StorageRepository sr, String vdi) throws Exception {
    return sr.vdi(vdi).depth();
  }

  @Test
  void templatesCloneWithoutDepthAndCopiesFlatten() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = Vdis.create(sr, "root", "", SIZE);
      write(sr, disk, 0, 1 << 20, 0x11);
      String vm = Vms.create(sr, "debian", "", 2, 1L << 30);
      Vms.createVbd(sr, vm, disk, "0", true, "RW");
      Vms.setParams(sr, "debian", Map.of("is-a-template", "true"));
      assertThatThrownBy(() -> write(sr, disk, 0, 512, 1))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("read-only");
      byte[] templateView = read(sr, disk);

      String c1 = Vms.cloneVm(sr, "debian", "vm1");
      String c2 = Vms.cloneVm(sr, "debian", "vm2");
      String c3 = Vms.cloneVm(sr, "debian", "vm3");
      for (String c : List.of(c1, c2, c3)) {
        Vms.VmView v = Vms.get(sr, c);
        assertThat(v.template()).isFalse();
        assertThat(v.disks()).hasSize(1);
        assertThat(v.disks().get(0).depth()).as("fast clone adds no depth").isEqualTo(2);
        assertThat(read(sr, v.disks().get(0).vdi())).isEqualTo(templateView);
      }
      String d1 = Vms.get(sr, c1).disks().get(0).vdi();
      write(sr, d1, 4096, 4096, 0x22);
      assertThat(read(sr, disk))
          .as("the template does not see its clone's writes")
          .isEqualTo(templateView);

      Vms.setParams(sr, c1, Map.of("is-a-template", "true"));
      String c4 = Vms.cloneVm(sr, c1, "vm4");
      String d4 = Vms.get(sr, c4).disks().get(0).vdi();
      assertThat(depth(sr, d4)).as("a clone of a clone adds depth").isEqualTo(3);
      byte[] d4View = read(sr, d4);
      assertThat(d4View[4096]).isEqualTo((byte) 0x22);

      String copy = Vms.copyVm(sr, c4, "flat");
      String dc = Vms.get(sr, copy).disks().get(0).vdi();
      assertThat(depth(sr, dc)).isEqualTo(1);
      assertThat(read(sr, dc)).isEqualTo(d4View);

      assertThat(SrMaintenance.scan(sr)).isEmpty();
    }
  }

  /** A VDI written, snapshotted, written, snapshotted, written; both snapshots destroyed. */
  private static String depthThreeWithTwoDestroyedSnapshots(StorageRepository sr) throws Exception {
    String disk = Vdis.create(sr, "data", "", SIZE);
    write(sr, disk, 0, 4096, 0x31);
    String snap = Vdis.snapshot(sr, disk);
    write(sr, disk, 8192, 4096, 0x32);
    String snap2 = Vdis.snapshot(sr, disk);
    write(sr, disk, 16384, 4096, 0x33);
    Vdis.destroy(sr, snap);
    Vdis.destroy(sr, snap2);
    assertThat(depth(sr, disk)).isEqualTo(3);
    return disk;
  }

  @Test
  void gcDeletesUnusedBasesAndCoalescesSingleChildren() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = depthThreeWithTwoDestroyedSnapshots(sr);
      byte[] view = read(sr, disk);
      List<String> done = SrMaintenance.gc(sr);
      assertThat(done).isNotEmpty();
      assertThat(depth(sr, disk)).isLessThan(3);
      assertThat(read(sr, disk)).isEqualTo(view);
      assertThat(sr.vdis()).allMatch(v -> v.managed() || v.hidden());
      assertThat(SrMaintenance.scan(sr)).isEmpty();
    }
  }

  @Test
  void gcSkipsABaseThatAnOpenVdiReadsThroughAndNamesWhoHoldsIt() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = depthThreeWithTwoDestroyedSnapshots(sr);
      byte[] view = read(sr, disk);
      List<String> files = listing();
      byte[] bytes = java.nio.file.Files.readAllBytes(dir.resolve(disk + ".vhd"));
      try (io.vdisk.engine.VirtualDisk open = sr.openVdi(disk, true, "mount")) {
        List<String> skipped = SrMaintenance.gc(sr);
        assertThat(skipped)
            .singleElement()
            .asString()
            .startsWith("skipped base copy ")
            .contains("VDI " + disk + " is read by host ")
            .contains(": vdisk mount since");
        assertThat(listing()).as("nothing deleted under a reader").isEqualTo(files);
        assertThat(java.nio.file.Files.readAllBytes(dir.resolve(disk + ".vhd"))).isEqualTo(bytes);
        byte[] seen = new byte[view.length];
        open.read(0, java.nio.ByteBuffer.wrap(seen));
        assertThat(seen).isEqualTo(view);
      }
      assertThat(SrMaintenance.gc(sr)).singleElement().asString().startsWith("coalesced base copy");
      assertThat(read(sr, disk)).isEqualTo(view);
      assertThat(depth(sr, disk)).isEqualTo(2);
    }
  }

  private List<String> listing() throws java.io.IOException {
    try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir)) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".vhd"))
          .sorted()
          .toList();
    }
  }

  @Test
  void anExistingXenServerSrIsDiscoveredByScan() throws Exception {
    String base = "0b8a2c4e-0000-4000-8000-000000000001";
    String leaf = "0b8a2c4e-0000-4000-8000-000000000002";
    io.vdisk.engine.image.VhdCreator.createDynamic(
        io.vdisk.engine.io.StorageProvider.FILES,
        dir.resolve(base + ".vhd"),
        io.vdisk.engine.image.VhdCreator.Spec.dynamic(SIZE));
    io.vdisk.engine.Snapshots.createChild(dir.resolve(base + ".vhd"), dir.resolve(leaf + ".vhd"));
    try (io.vdisk.engine.image.VhdImage b =
        io.vdisk.engine.image.VhdImage.open(
            io.vdisk.engine.io.StorageProvider.FILES.open(dir.resolve(base + ".vhd"), false),
            false)) {
      b.setHidden(true);
    }
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      assertThat(SrMaintenance.scan(sr)).hasSize(2);
      assertThat(sr.vdi(leaf).depth()).isEqualTo(2);
      assertThat(sr.vdi(leaf).parent()).isEqualTo(base);
      assertThat(sr.vdi(base).managed()).isFalse();
      assertThat(sr.vdi(leaf).name()).isEqualTo(leaf);
      write(sr, leaf, 0, 512, 0x44);
      assertThat(read(sr, leaf)[0]).isEqualTo((byte) 0x44);
      assertThat(SrMaintenance.scan(sr)).isEmpty();
    }
  }

  @Test
  void oneWriterPerVdiAndNoSnapshotUnderAWriter() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = Vdis.create(sr, "a", "", SIZE);
      try (io.vdisk.engine.VirtualDisk w = sr.openVdi(disk, false, "mount")) {
        assertThatThrownBy(() -> sr.openVdi(disk, false))
            .isInstanceOf(SrException.class)
            .hasMessageContaining("VDI " + disk + " is in use by host")
            .hasMessageContaining(" pid " + ProcessHandle.current().pid() + ": vdisk mount since");
        assertThatThrownBy(() -> Vdis.snapshot(sr, disk))
            .isInstanceOf(SrException.class)
            .hasMessageContaining("vdisk mount");
        assertThat(w.size()).isEqualTo(SIZE);
      }
      try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir.resolve("journal"))) {
        assertThat(s).as("a refused snapshot leaves nothing to finish later").isEmpty();
      }
      assertThat(Vdis.snapshot(sr, disk)).isNotNull();
      assertThat(SrMaintenance.scan(sr)).isEmpty();
    }
  }

  @Test
  void aCatalogRowWhoseFileIsGoneIsForgottenByScan() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String keep = Vdis.create(sr, "keep", "", SIZE);
      String lost = Vdis.create(sr, "lost", "", SIZE);
      java.nio.file.Files.delete(dir.resolve(lost + ".vhd"));
      assertThat(sr.vdi(lost).problem()).isEqualTo("file missing");
      assertThat(SrMaintenance.scan(sr))
          .containsExactly("forgot VDI " + lost + " (lost): its file is missing");
      assertThat(sr.vdis()).extracting(StorageRepository.VdiView::uuid).containsExactly(keep);
    }
  }

  @Test
  void refusals() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = Vdis.create(sr, "a", "", SIZE);
      String vm = Vms.create(sr, "same", "", 1, 1 << 20);
      Vms.create(sr, "same", "", 1, 1 << 20);
      Vms.createVbd(sr, vm, disk, "0", true, "RW");
      assertThatThrownBy(() -> Vms.get(sr, "same"))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("use a uuid");
      assertThatThrownBy(() -> sr.vdi("nope"))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("no VDI");
      assertThatThrownBy(() -> Vdis.destroy(sr, disk))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("in use by VM");
      assertThatThrownBy(() -> StorageRepository.create(dir, "second"))
          .isInstanceOf(SrException.class)
          .hasMessageContaining("in use by host")
          .hasMessageContaining(" pid " + ProcessHandle.current().pid() + ": vdisk test since");
    }
  }

  @Test
  void resizeGrowsALeafAndRefusesSnapshotsAndShrinking() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = Vdis.create(sr, "a", "", SIZE);
      write(sr, disk, 4096, 4096, 0x31);
      byte[] before = read(sr, disk);
      Vdis.resize(sr, disk, 3 * SIZE);
      byte[] after = read(sr, disk);
      assertThat(after.length).isEqualTo(3 * (int) SIZE);
      assertThat(Arrays.copyOf(after, (int) SIZE)).isEqualTo(before);
      assertThat(sr.vdi(disk).virtualSize()).isEqualTo(3 * SIZE);
      assertThatThrownBy(() -> Vdis.resize(sr, disk, SIZE)).hasMessageContaining("only grow");
      String snap = Vdis.snapshot(sr, disk);
      assertThatThrownBy(() -> Vdis.resize(sr, snap, 4 * SIZE)).hasMessageContaining("read-only");
      try (io.vdisk.engine.VirtualDisk open = sr.openVdi(disk, true)) {
        assertThatThrownBy(() -> Vdis.resize(sr, disk, 4 * SIZE))
            .isInstanceOf(SrException.class)
            .hasMessageContaining("is read by host ")
            .hasMessageContaining(": vdisk read since");
      }
    }
  }

  @Test
  void importReplacesTheContentsWholeAndKeepsTheUuid() throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      String disk = Vdis.create(sr, "a", "", SIZE);
      write(sr, disk, 0, 4096, 0x41);
      byte[] raw = new byte[(int) SIZE / 2];
      Arrays.fill(raw, 1 << 20, 2 << 20, (byte) 0x42);
      Path src = java.nio.file.Files.write(dir.resolve("in.raw"), raw);
      VdiContents.importFrom(sr, disk, src, io.vdisk.engine.Disks.Format.RAW);
      byte[] expected = new byte[(int) SIZE];
      System.arraycopy(raw, 0, expected, 0, raw.length);
      assertThat(read(sr, disk)).isEqualTo(expected);
      try (io.vdisk.engine.VirtualDisk open = sr.openVdi(disk, true)) {
        assertThatThrownBy(
                () -> VdiContents.importFrom(sr, disk, src, io.vdisk.engine.Disks.Format.RAW))
            .isInstanceOf(SrException.class)
            .hasMessageContaining("is read by host ")
            .hasMessageContaining(": vdisk read since");
      }
      try (var names = java.nio.file.Files.list(dir)) {
        assertThat(names.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("."));
      }
    }
  }

  @Test
  void aSymbolicLinkLeavingTheSrIsNeverUsed() throws Exception {
    Path outside = java.nio.file.Files.createTempDirectory("vdisk-elsewhere");
    Path victim = outside.resolve("victim.vhd");
    io.vdisk.engine.image.VhdCreator.createDynamic(
        io.vdisk.engine.io.StorageProvider.FILES,
        victim,
        io.vdisk.engine.image.VhdCreator.Spec.dynamic(SIZE));
    byte[] before = java.nio.file.Files.readAllBytes(victim);
    String uuid = "0b8a2c4e-0000-4000-8000-0000000000aa";
    try (StorageRepository sr = StorageRepository.create(dir, "test")) {
      java.nio.file.Files.createSymbolicLink(dir.resolve(uuid + ".vhd"), victim);
      assertThat(SrMaintenance.scan(sr)).anyMatch(l -> l.contains("outside the SR: not used"));
      assertThat(sr.vdis()).isEmpty();
      assertThatThrownBy(() -> sr.openVdi(uuid, false)).isInstanceOf(SrException.class);
    }
    assertThat(java.nio.file.Files.readAllBytes(victim)).isEqualTo(before);
    java.nio.file.Files.delete(victim);
    java.nio.file.Files.delete(outside);
  }

  @Test
  void gcOfAnSrThatXenServerWroteKeepsEveryByte() throws Exception {
    // base (tapdisk-style partial bitmaps, hidden) <- mid (hidden) <- leaf, as a XenServer file SR
    String base = "0b8a2c4e-0000-4000-8000-0000000000b1";
    String mid = "0b8a2c4e-0000-4000-8000-0000000000b2";
    String leaf = "0b8a2c4e-0000-4000-8000-0000000000b3";
    java.nio.file.Files.createDirectories(dir);
    io.vdisk.engine.ForeignImage b =
        io.vdisk.engine.ForeignImage.dynamic(SIZE, 2 << 20)
            .partialBlock(0, 8, 64, 0x51)
            .partialBlock(2, 0, 3, 0x52)
            .hidden();
    b.writeTo(dir.resolve(base + ".vhd"));
    io.vdisk.engine.ForeignImage m =
        io.vdisk.engine.ForeignImage.differencing(
                dir.resolve(mid + ".vhd"), dir.resolve(base + ".vhd"))
            .partialBlock(0, 0, 8, 0x61) // exactly where the base's bits are clear
            .partialBlock(1, 100, 200, 0x62)
            .hidden();
    m.writeTo(dir.resolve(mid + ".vhd"));
    io.vdisk.engine.Snapshots.createChild(dir.resolve(mid + ".vhd"), dir.resolve(leaf + ".vhd"));
    byte[] view = m.contents(b.contents(null));
    try (StorageRepository sr = StorageRepository.create(dir, "adopt")) {
      SrMaintenance.scan(sr);
      assertThat(read(sr, leaf)).isEqualTo(view);
      assertThat(SrMaintenance.gc(sr)).anyMatch(l -> l.contains("coalesced base copy " + mid));
      assertThat(read(sr, leaf)).as("the leaf reads the same after gc").isEqualTo(view);
      assertThat(sr.vdi(leaf).depth()).isEqualTo(2);
      assertThat(io.vdisk.engine.ImageChecker.check(dir.resolve(leaf + ".vhd"))).isEmpty();
    }
  }
}
