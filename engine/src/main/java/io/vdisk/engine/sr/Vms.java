package io.vdisk.engine.sr;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * VMs, templates and their disks (VBDs) in an SR's catalog, and the VM verbs that act on several
 * VDIs: clone (copy-on-write), copy (every disk flattened), snapshot, uninstall. A template is a VM
 * with {@code is-a-template}; its disks are read-only. Cloning a template gives a VM, as {@code xe
 * vm-install} does.
 */
public final class Vms {
  private Vms() {}

  /** One disk of a VM as vm-disk-list shows it. */
  public record Disk(
      String vbd,
      String device,
      String vdi,
      String vdiName,
      boolean bootable,
      String mode,
      long virtualSize,
      int depth) {}

  /** What vm-list shows of one VM. */
  public record VmView(
      String uuid,
      String name,
      String description,
      int vcpus,
      long memory,
      boolean template,
      boolean snapshot,
      String snapshotOf,
      List<Disk> disks,
      java.time.Instant snapshotTime) {}

  public static String create(
      StorageRepository sr, String name, String description, int vcpus, long memory)
      throws IOException {
    sr.requireWritable();
    String uuid = UUID.randomUUID().toString();
    sr.catalog()
        .transaction(
            () ->
                sr.catalog()
                    .putVm(
                        new Catalog.Vm(
                            uuid, name, description, vcpus, memory, false, false, null, "{}")));
    return uuid;
  }

  public static String createVbd(
      StorageRepository sr, String vmRef, String vdi, String device, boolean bootable, String mode)
      throws IOException {
    sr.requireWritable();
    Catalog.Vm vm = resolve(sr, vmRef);
    sr.record(vdi);
    String m = mode.toUpperCase(Locale.ROOT);
    if (!m.equals("RW") && !m.equals("RO")) {
      throw new SrException(SrException.Kind.INVALID, "mode must be RW or RO, not " + mode);
    }
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vm().equals(vm.uuid()) && b.device().equals(device)) {
        throw new SrException(
            SrException.Kind.IN_USE, "VM " + vm.name() + " already has a disk at device " + device);
      }
    }
    String uuid = UUID.randomUUID().toString();
    sr.catalog()
        .transaction(
            () -> sr.catalog().putVbd(new Catalog.Vbd(uuid, vm.uuid(), vdi, device, bootable, m)));
    return uuid;
  }

  /** A VM or template by UUID or by a name-label that only one of them has. */
  static Catalog.Vm resolve(StorageRepository sr, String ref) throws IOException {
    List<Catalog.Vm> byName = new ArrayList<>();
    for (Catalog.Vm vm : sr.catalog().vms()) {
      if (vm.uuid().equals(ref)) {
        return vm;
      }
      if (vm.name().equals(ref)) {
        byName.add(vm);
      }
    }
    if (byName.size() == 1) {
      return byName.get(0);
    }
    if (byName.isEmpty()) {
      throw new SrException(
          SrException.Kind.NOT_FOUND, "no VM or template named or with uuid " + ref);
    }
    throw new SrException(
        SrException.Kind.AMBIGUOUS,
        byName.size()
            + " VMs are named '"
            + ref
            + "'; use a uuid ("
            + byName.get(0).uuid()
            + ", "
            + byName.get(1).uuid()
            + (byName.size() > 2 ? ", ..." : "")
            + ")");
  }

  /**
   * The VMs ({@code templates} false), the templates (true: snapshots, which xapi also flags as
   * templates, are not among them, as in xe's template-list), or every record (null).
   */
  public static List<VmView> list(StorageRepository sr, Boolean templates) throws IOException {
    List<VmView> out = new ArrayList<>();
    List<StorageRepository.VdiView> vdis = sr.vdis();
    List<Catalog.Vbd> vbds = sr.catalog().vbds();
    for (Catalog.Vm vm : sr.catalog().vms()) {
      if (templates != null && (vm.template() != templates || (templates && vm.snapshot()))) {
        continue;
      }
      out.add(view(vm, vdis, vbds));
    }
    return out;
  }

  public static VmView get(StorageRepository sr, String ref) throws IOException {
    return view(resolve(sr, ref), sr.vdis(), sr.catalog().vbds());
  }

  private static VmView view(
      Catalog.Vm vm, List<StorageRepository.VdiView> vdis, List<Catalog.Vbd> vbds) {
    List<Disk> disks = new ArrayList<>();
    java.time.Instant taken = null;
    for (Catalog.Vbd b : vbds) {
      if (!b.vm().equals(vm.uuid())) {
        continue;
      }
      StorageRepository.VdiView v =
          vdis.stream().filter(x -> x.uuid().equals(b.vdi())).findFirst().orElse(null);
      if (vm.snapshot() && taken == null && v != null) {
        taken = v.created(); // the snapshot's leaf was made when the snapshot was taken
      }
      disks.add(
          new Disk(
              b.uuid(),
              b.device(),
              b.vdi(),
              v == null ? "?" : v.name(),
              b.bootable(),
              b.mode(),
              v == null ? 0 : v.virtualSize(),
              v == null ? 0 : v.depth()));
    }
    return new VmView(
        vm.uuid(),
        vm.name(),
        vm.description(),
        vm.vcpus(),
        vm.memory(),
        vm.template(),
        vm.snapshot(),
        vm.snapshotOf(),
        disks,
        taken);
  }

  /** vm-param-set: name-label, name-description, VCPUs, memory, is-a-template. */
  public static void setParams(StorageRepository sr, String ref, Map<String, String> params)
      throws IOException {
    sr.requireWritable();
    Catalog.Vm vm = resolve(sr, ref);
    boolean template =
        params.containsKey("is-a-template")
            ? Boolean.parseBoolean(params.get("is-a-template"))
            : vm.template();
    Catalog.Vm next =
        new Catalog.Vm(
            vm.uuid(),
            params.getOrDefault("name-label", vm.name()),
            params.getOrDefault("name-description", vm.description()),
            params.containsKey("vcpus") ? Integer.parseInt(params.get("vcpus")) : vm.vcpus(),
            params.containsKey("memory") ? Long.parseLong(params.get("memory")) : vm.memory(),
            template,
            vm.snapshot(),
            vm.snapshotOf(),
            vm.otherConfig());
    sr.catalog().transaction(() -> sr.catalog().putVm(next));
  }

  /** vm-clone: every disk cloned copy-on-write; a template's clone is a VM. */
  public static String cloneVm(StorageRepository sr, String ref, String name) throws IOException {
    return multiDisk(sr, "vm-clone", ref, name);
  }

  /** vm-copy: every disk flattened into a standalone VDI. */
  public static String copyVm(StorageRepository sr, String ref, String name) throws IOException {
    return multiDisk(sr, "vm-copy", ref, name);
  }

  /** vm-snapshot: every disk snapshotted; the snapshot is a read-only VM record. */
  public static String snapshotVm(StorageRepository sr, String ref, String name)
      throws IOException {
    return multiDisk(sr, "vm-snapshot", ref, name);
  }

  private static String multiDisk(StorageRepository sr, String op, String ref, String name)
      throws IOException {
    sr.requireWritable();
    Catalog.Vm vm = resolve(sr, ref);
    List<SrOp.Disk> disks = new ArrayList<>();
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vm().equals(vm.uuid())) {
        disks.add(
            new SrOp.Disk(
                b.uuid(), b.vdi(), UUID.randomUUID().toString(), UUID.randomUUID().toString()));
      }
    }
    String neu = UUID.randomUUID().toString();
    sr.journaled(
        switch (op) {
          case "vm-clone" -> new SrOp.VmClone(vm.uuid(), neu, name, disks);
          case "vm-snapshot" -> new SrOp.VmSnapshot(vm.uuid(), neu, name, disks);
          default -> new SrOp.VmCopy(vm.uuid(), neu, name, disks);
        });
    return neu;
  }

  /** vm-uninstall: the VM and the disks no other VM uses. */
  public static void uninstall(StorageRepository sr, String ref) throws IOException {
    sr.requireWritable();
    Catalog.Vm vm = resolve(sr, ref);
    List<String> disks = new ArrayList<>();
    List<Catalog.Vbd> vbds = new ArrayList<>();
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vm().equals(vm.uuid())) {
        disks.add(b.vdi());
        vbds.add(b);
      }
    }
    sr.journaled(new SrOp.VmUninstall(vm.uuid(), disks, new OpFields.VmRow(vm, vbds)));
  }

  /** vbd-destroy: a VM's disk record; the VDI stays. */
  public static void destroyVbd(StorageRepository sr, String uuid) throws IOException {
    sr.requireWritable();
    if (sr.catalog().vbds().stream().noneMatch(b -> b.uuid().equals(uuid))) {
      throw new SrException(SrException.Kind.NOT_FOUND, "no VBD with uuid " + uuid);
    }
    sr.catalog().transaction(() -> sr.catalog().deleteVbd(uuid));
  }

  /**
   * snapshot-revert: the VM the snapshot was taken of gets clones of the snapshot's disks in place
   * of its own (same devices, bootable and mode) and the snapshot's vCPUs and memory, as xapi's
   * VM.revert; its former disks that no other VM uses are destroyed. Journaled: a revert cut at any
   * write is finished by the next command. Returns the VM's UUID.
   */
  public static String revert(StorageRepository sr, String snapshotRef) throws IOException {
    sr.requireWritable();
    Catalog.Vm snap = resolve(sr, snapshotRef);
    if (!snap.snapshot() || snap.snapshotOf() == null) {
      throw new SrException(
          SrException.Kind.INVALID, snap.uuid() + " (" + snap.name() + ") is not a VM snapshot");
    }
    Catalog.Vm vm =
        sr.catalog().vms().stream()
            .filter(v -> v.uuid().equals(snap.snapshotOf()))
            .findFirst()
            .orElseThrow(
                () ->
                    new SrException(
                        SrException.Kind.NOT_FOUND,
                        "the VM snapshot "
                            + snap.uuid()
                            + " was taken of ("
                            + snap.snapshotOf()
                            + ") is gone; vm-clone the snapshot instead"));
    List<SrOp.Disk> disks = new ArrayList<>();
    List<SrOp.Disk> old = new ArrayList<>();
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vm().equals(snap.uuid())) {
        disks.add(
            new SrOp.Disk(
                b.uuid(), b.vdi(), UUID.randomUUID().toString(), UUID.randomUUID().toString()));
      } else if (b.vm().equals(vm.uuid())) {
        old.add(new SrOp.Disk(b.uuid(), b.vdi(), null, null));
      }
    }
    sr.journaled(new SrOp.VmRevert(vm.uuid(), snap.uuid(), disks, old));
    return vm.uuid();
  }

  /** True once a revert's VBD rows are the new ones (its one catalog transaction ran). */
  private static boolean reverted(StorageRepository sr, SrOp.VmRevert op) throws IOException {
    java.util.Set<String> vbds = new java.util.HashSet<>();
    sr.catalog().vbds().forEach(b -> vbds.add(b.uuid()));
    return op.old().stream().noneMatch(d -> vbds.contains(d.vbd()))
        && op.disks().stream().allMatch(d -> vbds.contains(d.newVbd()));
  }

  /** Idempotent steps: the clones, then the VM's rows in one transaction, then the old disks. */
  static void applyRevert(StorageRepository sr, SrOp.VmRevert op) throws IOException {
    if (!reverted(sr, op)) {
      Catalog.Vm snap = find(sr, op.snapshot());
      Catalog.Vm vm = find(sr, op.vm());
      List<Catalog.Vbd> vbds = sr.catalog().vbds();
      List<Catalog.Vbd> newVbds = new ArrayList<>();
      for (SrOp.Disk d : op.disks()) {
        Catalog.Vbd src =
            vbds.stream()
                .filter(b -> b.uuid().equals(d.vbd()))
                .findFirst()
                .orElseThrow(
                    () ->
                        new SrException(SrException.Kind.NOT_FOUND, "VBD " + d.vbd() + " is gone"));
        if (sr.catalog().vdi(d.newVdi()).isEmpty()) {
          Vdis.snapshotOrClone(sr, d.vdi(), false, d.newVdi(), sr.record(d.vdi()).name());
        }
        newVbds.add(
            new Catalog.Vbd(
                d.newVbd(), vm.uuid(), d.newVdi(), src.device(), src.bootable(), src.mode()));
      }
      Catalog.Vm back =
          new Catalog.Vm(
              vm.uuid(),
              vm.name(),
              vm.description(),
              snap.vcpus(),
              snap.memory(),
              vm.template(),
              false,
              null,
              vm.otherConfig());
      sr.catalog()
          .transaction(
              () -> {
                for (SrOp.Disk d : op.old()) {
                  sr.catalog().deleteVbd(d.vbd());
                }
                sr.catalog().putVm(back);
                for (Catalog.Vbd b : newVbds) {
                  sr.catalog().putVbd(b);
                }
              });
    }
    for (SrOp.Disk d : op.old()) {
      boolean used = sr.catalog().vbds().stream().anyMatch(b -> b.vdi().equals(d.vdi()));
      if (!used && sr.catalog().vdi(d.vdi()).isPresent()) {
        try {
          Vdis.destroy(sr, d.vdi());
        } catch (IOException kept) {
          // The revert is done; a former disk that a clone or a reader keeps, or whose removal
          // failed (its own destroy rolled back), stays whole as a VDI of no VM, for vdi-destroy.
        }
      }
    }
  }

  /** Before its catalog transaction a revert is undone (the clones made go); after it, kept. */
  static void undoRevert(StorageRepository sr, SrOp.VmRevert op) throws IOException {
    if (reverted(sr, op)) {
      return;
    }
    for (SrOp.Disk d : op.disks()) {
      if (sr.catalog().vdi(d.newVdi()).isPresent()) {
        Vdis.destroy(sr, d.newVdi());
      } else {
        Vdis.forgetNew(sr, d.newVdi());
      }
    }
  }

  private static Catalog.Vm find(StorageRepository sr, String uuid) throws IOException {
    return sr.catalog().vms().stream()
        .filter(v -> v.uuid().equals(uuid))
        .findFirst()
        .orElseThrow(() -> new SrException(SrException.Kind.NOT_FOUND, "VM " + uuid + " is gone"));
  }

  /** vm-destroy: the VM record and its VBDs; the disks stay. */
  public static void destroy(StorageRepository sr, String ref) throws IOException {
    sr.requireWritable();
    Catalog.Vm vm = resolve(sr, ref);
    sr.catalog().transaction(() -> sr.catalog().deleteVm(vm.uuid()));
  }

  /** The VM's rows, then each disk no other VM uses (each a journaled destroy of its own). */
  static void applyUninstall(StorageRepository sr, SrOp.VmUninstall op) throws IOException {
    sr.catalog().transaction(() -> sr.catalog().deleteVm(op.vm()));
    for (String vdi : op.disks()) {
      boolean used = sr.catalog().vbds().stream().anyMatch(b -> b.vdi().equals(vdi));
      if (!used && sr.catalog().vdi(vdi).isPresent()) {
        Vdis.destroy(sr, vdi);
      }
    }
  }

  /** Puts the VM back, with the VBDs of its disks that are still there. */
  static void undoUninstall(StorageRepository sr, SrOp.VmUninstall op) throws IOException {
    if (op.row() == null || sr.catalog().vms().stream().anyMatch(v -> v.uuid().equals(op.vm()))) {
      return;
    }
    sr.catalog()
        .transaction(
            () -> {
              sr.catalog().putVm(op.row().vm());
              for (Catalog.Vbd b : op.row().vbds()) {
                if (sr.catalog().vdi(b.vdi()).isPresent()) {
                  sr.catalog().putVbd(b);
                }
              }
            });
  }

  /** Each disk by its VDI operation (the UUIDs from the record), then the VM and VBD rows. */
  static void applyDisks(StorageRepository sr, SrOp.VmDisks op) throws IOException {
    Catalog.Vm vm =
        sr.catalog().vms().stream()
            .filter(v -> v.uuid().equals(op.vm()))
            .findFirst()
            .orElseThrow(
                () -> new SrException(SrException.Kind.NOT_FOUND, "VM " + op.vm() + " is gone"));
    List<Catalog.Vbd> vbds = sr.catalog().vbds();
    List<Catalog.Vbd> newVbds = new ArrayList<>();
    // A copy's disks report as one progress, of all their bytes.
    io.vdisk.engine.Progress outer = sr.progress();
    Map<String, Long> sizes = new java.util.HashMap<>();
    for (SrOp.Disk d : op.disks()) {
      SrTree.Node n = SrTree.node(sr.dir(), d.vdi());
      sizes.put(d.vdi(), n == null ? 0L : n.virtualSize());
    }
    long all = op.disks().stream().mapToLong(d -> sizes.getOrDefault(d.vdi(), 0L)).sum();
    long[] base = {0};
    sr.setProgress((done, total) -> outer.update(base[0] + done, all));
    for (SrOp.Disk d : op.disks()) {
      Catalog.Vbd src =
          vbds.stream()
              .filter(b -> b.uuid().equals(d.vbd()))
              .findFirst()
              .orElseThrow(
                  () ->
                      new SrException(
                          SrException.Kind.NOT_FOUND,
                          "VBD " + d.vbd() + " of " + op.vm() + " is gone"));
      if (sr.catalog().vdi(d.newVdi()).isEmpty()) {
        String label = sr.record(d.vdi()).name();
        if (op instanceof SrOp.VmCopy) {
          Vdis.copy(sr, d.vdi(), label, d.newVdi());
        } else {
          Vdis.snapshotOrClone(sr, d.vdi(), op instanceof SrOp.VmSnapshot, d.newVdi(), label);
        }
      }
      newVbds.add(
          new Catalog.Vbd(
              d.newVbd(), op.neu(), d.newVdi(), src.device(), src.bootable(), src.mode()));
      base[0] += sizes.getOrDefault(d.vdi(), 0L);
    }
    sr.setProgress(outer);
    boolean snapshot = op instanceof SrOp.VmSnapshot;
    Catalog.Vm copy =
        new Catalog.Vm(
            op.neu(),
            op.label(),
            vm.description(),
            vm.vcpus(),
            vm.memory(),
            snapshot || (op instanceof SrOp.VmCopy && vm.template()),
            snapshot,
            snapshot ? vm.uuid() : null,
            vm.otherConfig());
    sr.catalog()
        .transaction(
            () -> {
              sr.catalog().putVm(copy);
              for (Catalog.Vbd b : newVbds) {
                sr.catalog().putVbd(b);
              }
            });
  }

  /**
   * Undoes a VM operation that failed before its VM row: the new VDIs made so far are destroyed (a
   * split snapshot's new base stays, as XenServer leaves it, for sr-gc).
   */
  static void undoDisks(StorageRepository sr, SrOp.VmDisks op) throws IOException {
    if (sr.catalog().vms().stream().anyMatch(v -> v.uuid().equals(op.neu()))) {
      return; // it completed
    }
    for (SrOp.Disk d : op.disks()) {
      if (sr.catalog().vdi(d.newVdi()).isPresent()) {
        Vdis.destroy(sr, d.newVdi());
      } else {
        Vdis.forgetNew(sr, d.newVdi());
      }
    }
  }
}
