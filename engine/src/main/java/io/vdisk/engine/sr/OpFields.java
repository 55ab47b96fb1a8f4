package io.vdisk.engine.sr;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Typed, checked access to a record's keys. */
final class OpFields {
  private static final Pattern UUID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final int MAX_DISKS = 4096;

  private final Map<String, String> m;

  OpFields(Map<String, String> m) {
    this.m = m;
  }

  String str(String key) throws SrOp.MalformedRecord {
    String v = m.get(key);
    if (v == null) {
      throw new SrOp.MalformedRecord("missing " + key);
    }
    return v;
  }

  String opt(String key) {
    return m.get(key);
  }

  String uuid(String key) throws SrOp.MalformedRecord {
    String v = str(key);
    if (!UUID.matcher(v).matches()) {
      throw new SrOp.MalformedRecord(
          key + " '" + io.vdisk.engine.io.Printable.of(v) + "' is not a UUID");
    }
    return v;
  }

  boolean bool(String key) throws SrOp.MalformedRecord {
    String v = str(key);
    if (!v.equals("true") && !v.equals("false")) {
      throw new SrOp.MalformedRecord(
          key + " '" + io.vdisk.engine.io.Printable.of(v) + "' is not a boolean");
    }
    return v.equals("true");
  }

  long size(String key) throws SrOp.MalformedRecord {
    try {
      long v = Long.parseLong(str(key));
      if (v <= 0 || v > io.vdisk.vhd.VhdLayout.MAX_SIZE) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new SrOp.MalformedRecord(key + " is not a size");
    }
  }

  int count(String key) throws SrOp.MalformedRecord {
    try {
      int v = Integer.parseInt(str(key));
      if (v < 0 || v > MAX_DISKS) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new SrOp.MalformedRecord(key + " is not a count");
    }
  }

  List<SrOp.Disk> disks() throws SrOp.MalformedRecord {
    int n = count("disks");
    List<SrOp.Disk> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          new SrOp.Disk(
              uuid("disk." + i + ".vbd"),
              uuid("disk." + i + ".vdi"),
              uuid("disk." + i + ".new-vdi"),
              uuid("disk." + i + ".new-vbd")));
    }
    return out;
  }

  /** A revert's replaced VBDs and VDIs: {@code old.%d.vbd} and {@code old.%d.vdi}. */
  List<SrOp.Disk> oldDisks() throws SrOp.MalformedRecord {
    int n = count("olds");
    List<SrOp.Disk> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SrOp.Disk(uuid("old." + i + ".vbd"), uuid("old." + i + ".vdi"), null, null));
    }
    return out;
  }

  /** {@code disk.%d.vdi} for {@code disks} entries, or {@code file.1..} until the first gap. */
  List<String> vdis(String format) throws SrOp.MalformedRecord {
    List<String> out = new ArrayList<>();
    if (format.startsWith("disk")) {
      int n = count("disks");
      for (int i = 0; i < n; i++) {
        out.add(uuid(String.format(format, i)));
      }
    } else {
      for (int i = 1; m.containsKey(String.format(format, i)) && i <= MAX_DISKS; i++) {
        out.add(uuid(String.format(format, i)));
      }
    }
    return out;
  }

  Catalog.Vdi vdiRow(String prefix) throws SrOp.MalformedRecord {
    if (!m.containsKey(prefix + ".name")) {
      return null;
    }
    String of = opt(prefix + ".snapshot-of");
    return new Catalog.Vdi(
        uuid("vdi"),
        str(prefix + ".name"),
        str(prefix + ".description"),
        bool(prefix + ".read-only"),
        bool(prefix + ".is-snapshot"),
        of == null || of.isEmpty() ? null : uuid(prefix + ".snapshot-of"),
        bool(prefix + ".managed"));
  }

  static void putVdiRow(Map<String, String> m, String prefix, Catalog.Vdi v) {
    m.put(prefix + ".name", v.name());
    m.put(prefix + ".description", v.description());
    m.put(prefix + ".read-only", "" + v.readOnly());
    m.put(prefix + ".is-snapshot", "" + v.snapshot());
    m.put(prefix + ".snapshot-of", v.snapshotOf() == null ? "" : v.snapshotOf());
    m.put(prefix + ".managed", "" + v.managed());
  }

  /** A VM's row and its VBD rows, to put back. */
  record VmRow(Catalog.Vm vm, List<Catalog.Vbd> vbds) {}

  VmRow vmRow() throws SrOp.MalformedRecord {
    if (!m.containsKey("row.name")) {
      return null;
    }
    String of = opt("row.snapshot-of");
    Catalog.Vm vm;
    try {
      vm =
          new Catalog.Vm(
              uuid("vm"),
              str("row.name"),
              str("row.description"),
              Integer.parseInt(str("row.vcpus")),
              Long.parseLong(str("row.memory")),
              bool("row.template"),
              bool("row.is-snapshot"),
              of == null || of.isEmpty() ? null : uuid("row.snapshot-of"),
              str("row.other-config"));
    } catch (NumberFormatException e) {
      throw new SrOp.MalformedRecord("row.vcpus or row.memory is not a number");
    }
    List<Catalog.Vbd> vbds = new ArrayList<>();
    int n = count("row.vbds");
    for (int i = 0; i < n; i++) {
      String p = "row.vbd." + i + ".";
      String mode = str(p + "mode");
      if (!mode.equals("RW") && !mode.equals("RO")) {
        throw new SrOp.MalformedRecord(p + "mode is not RW or RO");
      }
      vbds.add(
          new Catalog.Vbd(
              uuid(p + "uuid"),
              vm.uuid(),
              uuid(p + "vdi"),
              str(p + "device"),
              bool(p + "bootable"),
              mode));
    }
    return new VmRow(vm, vbds);
  }

  static void putVmRow(Map<String, String> m, VmRow r) {
    Catalog.Vm v = r.vm();
    m.put("row.name", v.name());
    m.put("row.description", v.description());
    m.put("row.vcpus", "" + v.vcpus());
    m.put("row.memory", "" + v.memory());
    m.put("row.template", "" + v.template());
    m.put("row.is-snapshot", "" + v.snapshot());
    m.put("row.snapshot-of", v.snapshotOf() == null ? "" : v.snapshotOf());
    m.put("row.other-config", v.otherConfig());
    m.put("row.vbds", "" + r.vbds().size());
    for (int i = 0; i < r.vbds().size(); i++) {
      Catalog.Vbd b = r.vbds().get(i);
      String p = "row.vbd." + i + ".";
      m.put(p + "uuid", b.uuid());
      m.put(p + "vdi", b.vdi());
      m.put(p + "device", b.device());
      m.put(p + "bootable", "" + b.bootable());
      m.put(p + "mode", b.mode());
    }
  }
}
