package io.vdisk.engine.sr;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One journaled operation of an SR: everything it will make (new UUIDs included) is in the record,
 * so that running it again finishes it ({@link #apply}, every step checking what is already done),
 * and a run that failed can be undone ({@link #rollBack}, equally idempotent).
 *
 * <p>What happens to a record:
 *
 * <ul>
 *   <li>the verb that wrote it succeeds: the record is removed;
 *   <li>the verb fails (an error, a full disk, a signal): it rolls the record back before it exits,
 *       so nothing it reported as failed happens later;
 *   <li>the process died (kill -9, power loss): the next command that opens the SR for changes
 *       finishes it, or, when that fails, rolls it back; a record that can be neither is set aside
 *       as {@code .failed} for {@code sr-scan} to report ({@code clear-failed=true} removes them).
 * </ul>
 *
 * Records are decoded as hostile input: every UUID must be well formed (files are named by UUID
 * inside the SR, so no record can point outside it), every number must parse; a record that does
 * not decode is set aside with one warning and nothing is done.
 */
sealed interface SrOp
    permits SrOp.VdiCreate,
        SrOp.VdiSnapshot,
        SrOp.VdiLink,
        SrOp.VdiCopy,
        SrOp.VdiDestroy,
        SrOp.VmDisks,
        SrOp.VmUninstall,
        SrOp.VmRevert,
        SrOp.XvaImport {

  /** The record's {@code op} value. */
  String op();

  /** The record's other keys (the same as the journals of earlier versions use). */
  Map<String, String> encode();

  void apply(StorageRepository sr) throws IOException;

  void rollBack(StorageRepository sr) throws IOException;

  /** A record that does not describe an operation vdisk can run. */
  final class MalformedRecord extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedRecord(String message) {
      super(message);
    }
  }

  static SrOp decode(Map<String, String> m) throws MalformedRecord {
    OpFields f = new OpFields(m);
    String op = f.str("op");
    return switch (op) {
      case "vdi-create" ->
          new VdiCreate(f.uuid("new"), f.str("name"), f.str("description"), f.size("size"));
      case "vdi-snapshot" ->
          new VdiSnapshot(
              f.uuid("vdi"),
              f.uuid("base"),
              f.uuid("new"),
              f.bool("snapshot"),
              f.str("name"),
              f.str("description"));
      case "vdi-link" ->
          new VdiLink(
              f.uuid("vdi"),
              f.uuid("parent"),
              f.uuid("new"),
              f.bool("snapshot"),
              f.str("name"),
              f.str("description"));
      case "vdi-copy" ->
          new VdiCopy(f.uuid("vdi"), f.uuid("new"), f.str("name"), f.str("description"));
      case "vdi-destroy" -> new VdiDestroy(f.uuid("vdi"), f.vdiRow("row"));
      case "vm-clone" -> new VmClone(f.uuid("vm"), f.uuid("new"), f.opt("name"), f.disks());
      case "vm-copy" -> new VmCopy(f.uuid("vm"), f.uuid("new"), f.opt("name"), f.disks());
      case "vm-snapshot" -> new VmSnapshot(f.uuid("vm"), f.uuid("new"), f.opt("name"), f.disks());
      case "vm-uninstall" -> new VmUninstall(f.uuid("vm"), f.vdis("disk.%d.vdi"), f.vmRow());
      case "vm-revert" -> new VmRevert(f.uuid("vm"), f.uuid("snapshot"), f.disks(), f.oldDisks());
      case "xva-import" -> new XvaImport(f.vdis("file.%d"));
      default -> throw new MalformedRecord("unknown operation '" + op + "'");
    };
  }

  /** Encodes with the op name, for the journal file. */
  static Map<String, String> record(SrOp op) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("op", op.op());
    m.putAll(op.encode());
    return m;
  }

  // ---- VDI operations -------------------------------------------------------------------------

  /** A new empty VDI. */
  record VdiCreate(String vdi, String name, String description, long size) implements SrOp {
    @Override
    public String op() {
      return "vdi-create";
    }

    @Override
    public Map<String, String> encode() {
      return Map.of("new", vdi, "name", name, "description", description, "size", "" + size);
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vdis.applyCreate(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vdis.forgetNew(sr, vdi);
    }
  }

  /** XenServer's snapshot/clone of a VDI whose leaf holds data: split it over a new base. */
  record VdiSnapshot(
      String vdi, String base, String neu, boolean snapshot, String name, String description)
      implements SrOp {
    @Override
    public String op() {
      return "vdi-snapshot";
    }

    @Override
    public Map<String, String> encode() {
      return Map.of(
          "vdi",
          vdi,
          "base",
          base,
          "new",
          neu,
          "snapshot",
          "" + snapshot,
          "name",
          name,
          "description",
          description);
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vdis.applySnapshot(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vdis.undoSnapshot(sr, this);
    }
  }

  /** A snapshot/clone of an empty leaf: a new leaf on its first ancestor with data. */
  record VdiLink(
      String vdi, String parent, String neu, boolean snapshot, String name, String description)
      implements SrOp {
    @Override
    public String op() {
      return "vdi-link";
    }

    @Override
    public Map<String, String> encode() {
      return Map.of(
          "vdi",
          vdi,
          "parent",
          parent,
          "new",
          neu,
          "snapshot",
          "" + snapshot,
          "name",
          name,
          "description",
          description);
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vdis.applyLink(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vdis.undoLink(sr, this);
    }
  }

  /** A full copy: the chain flattened into a new standalone VDI. */
  record VdiCopy(String vdi, String neu, String name, String description) implements SrOp {
    @Override
    public String op() {
      return "vdi-copy";
    }

    @Override
    public Map<String, String> encode() {
      return Map.of("vdi", vdi, "new", neu, "name", name, "description", description);
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vdis.applyCopy(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vdis.forgetNew(sr, neu);
    }
  }

  /**
   * A VDI's file, then its row, removed. {@code row} (absent in records of earlier versions) lets a
   * failed destroy put the row back when its file is still there.
   */
  record VdiDestroy(String vdi, Catalog.Vdi row) implements SrOp {
    @Override
    public String op() {
      return "vdi-destroy";
    }

    @Override
    public Map<String, String> encode() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("vdi", vdi);
      if (row != null) {
        OpFields.putVdiRow(m, "row", row);
      }
      return m;
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vdis.applyDestroy(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vdis.undoDestroy(sr, this);
    }
  }

  // ---- VM operations --------------------------------------------------------------------------

  /** One disk of a VM operation: the VBD and VDI it copies, and the UUIDs of the new ones. */
  record Disk(String vbd, String vdi, String newVdi, String newVbd) {}

  /** vm-clone, vm-copy and vm-snapshot: each disk by a VDI operation, then the VM's rows. */
  sealed interface VmDisks extends SrOp permits VmClone, VmCopy, VmSnapshot {
    String vm();

    String neu();

    String label();

    List<Disk> disks();

    @Override
    default Map<String, String> encode() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("vm", vm());
      m.put("new", neu());
      if (label() != null) {
        m.put("name", label());
      }
      for (int i = 0; i < disks().size(); i++) {
        Disk d = disks().get(i);
        m.put("disk." + i + ".vbd", d.vbd());
        m.put("disk." + i + ".vdi", d.vdi());
        m.put("disk." + i + ".new-vdi", d.newVdi());
        m.put("disk." + i + ".new-vbd", d.newVbd());
      }
      m.put("disks", "" + disks().size());
      return m;
    }

    @Override
    default void apply(StorageRepository sr) throws IOException {
      Vms.applyDisks(sr, this);
    }

    @Override
    default void rollBack(StorageRepository sr) throws IOException {
      Vms.undoDisks(sr, this);
    }
  }

  record VmClone(String vm, String neu, String label, List<Disk> disks) implements VmDisks {
    @Override
    public String op() {
      return "vm-clone";
    }
  }

  record VmCopy(String vm, String neu, String label, List<Disk> disks) implements VmDisks {
    @Override
    public String op() {
      return "vm-copy";
    }
  }

  record VmSnapshot(String vm, String neu, String label, List<Disk> disks) implements VmDisks {
    @Override
    public String op() {
      return "vm-snapshot";
    }
  }

  /**
   * vm-uninstall: the VM's rows, then each disk no other VM uses. {@code row} (absent in records of
   * earlier versions) lets a failed uninstall put the VM back with the disks still there.
   */
  record VmUninstall(String vm, List<String> disks, OpFields.VmRow row) implements SrOp {
    @Override
    public String op() {
      return "vm-uninstall";
    }

    @Override
    public Map<String, String> encode() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("vm", vm);
      for (int i = 0; i < disks.size(); i++) {
        m.put("disk." + i + ".vdi", disks.get(i));
      }
      m.put("disks", "" + disks.size());
      if (row != null) {
        OpFields.putVmRow(m, row);
      }
      return m;
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vms.applyUninstall(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vms.undoUninstall(sr, this);
    }
  }

  /**
   * snapshot-revert: {@code disks} are the snapshot's (VBD, VDI) with the UUIDs of their clones and
   * new VBDs on {@code vm}; {@code old} the VM's VBDs and VDIs it replaces.
   */
  record VmRevert(String vm, String snapshot, List<Disk> disks, List<Disk> old) implements SrOp {
    @Override
    public String op() {
      return "vm-revert";
    }

    @Override
    public Map<String, String> encode() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("vm", vm);
      m.put("snapshot", snapshot);
      for (int i = 0; i < disks.size(); i++) {
        Disk d = disks.get(i);
        m.put("disk." + i + ".vbd", d.vbd());
        m.put("disk." + i + ".vdi", d.vdi());
        m.put("disk." + i + ".new-vdi", d.newVdi());
        m.put("disk." + i + ".new-vbd", d.newVbd());
      }
      m.put("disks", "" + disks.size());
      for (int i = 0; i < old.size(); i++) {
        m.put("old." + i + ".vbd", old.get(i).vbd());
        m.put("old." + i + ".vdi", old.get(i).vdi());
      }
      m.put("olds", "" + old.size());
      return m;
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      Vms.applyRevert(sr, this);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      Vms.undoRevert(sr, this);
    }
  }

  /**
   * An XVA import: the VDIs it makes, noted as it meets each disk. An import that did not reach its
   * catalog transaction is undone whether the process failed or died: it was never acknowledged,
   * and its data is still in the archive.
   */
  record XvaImport(List<String> files) implements SrOp {
    @Override
    public String op() {
      return "xva-import";
    }

    @Override
    public Map<String, String> encode() {
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < files.size(); i++) {
        m.put("file." + (i + 1), files.get(i));
      }
      return m;
    }

    @Override
    public void apply(StorageRepository sr) throws IOException {
      XvaTransfer.rollBack(sr, files);
    }

    @Override
    public void rollBack(StorageRepository sr) throws IOException {
      XvaTransfer.rollBack(sr, files);
    }
  }
}
