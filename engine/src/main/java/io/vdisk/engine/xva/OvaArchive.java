package io.vdisk.engine.xva;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The content of ova.xml: the {@code version} struct and the exported objects ({@code class},
 * {@code id}, {@code snapshot}: the full XenAPI record, references rewritten to {@code Ref:N}).
 */
public record OvaArchive(Map<String, Object> version, List<Obj> objects) {
  /** One exported object. */
  public record Obj(String cls, String id, Map<String, Object> snapshot) {
    String string(String field) {
      Object v = snapshot.get(field);
      return v == null ? null : v.toString();
    }
  }

  /** A disk the archive carries: its VDI id (the chunks' directory) and size. */
  public record Disk(String id, long virtualSize, Obj vdi) {}

  /** The version keys import requires (xapi's {@code version_of_rpc}); export_vsn may be absent. */
  static final List<String> VERSION_KEYS =
      List.of(
          "hostname",
          "date",
          "product_version",
          "product_brand",
          "build_number",
          "xapi_major",
          "xapi_minor");

  /**
   * Fields with no default in xapi's datamodel, per class (docs/reference/xva-format-notes.md
   * §3.5).
   */
  static final Map<String, List<String>> REQUIRED =
      Map.of(
          "VM",
          List.of(
              "uuid",
              "user_version",
              "is_a_template",
              "resident_on",
              "affinity",
              "memory_static_max",
              "memory_dynamic_max",
              "memory_dynamic_min",
              "memory_static_min",
              "VCPUs_params",
              "VCPUs_max",
              "VCPUs_at_startup",
              "actions_after_shutdown",
              "actions_after_reboot",
              "actions_after_crash",
              "PV_bootloader",
              "PV_kernel",
              "PV_ramdisk",
              "PV_args",
              "PV_bootloader_args",
              "PV_legacy_args",
              "HVM_boot_policy",
              "HVM_boot_params",
              "platform",
              "PCI_bus",
              "other_config",
              "domid",
              "domarch",
              "is_control_domain",
              "metrics",
              "guest_metrics",
              "recommendations"),
          "VBD",
          List.of(
              "uuid",
              "VM",
              "VDI",
              "userdevice",
              "bootable",
              "mode",
              "type",
              "storage_lock",
              "empty",
              "other_config",
              "status_code",
              "status_detail",
              "runtime_properties",
              "qos_algorithm_type",
              "qos_algorithm_params",
              "qos_supported_algorithms"),
          "VDI",
          List.of(
              "uuid",
              "SR",
              "virtual_size",
              "physical_utilisation",
              "type",
              "sharable",
              "read_only",
              "other_config",
              "storage_lock",
              "managed",
              "missing",
              "parent"),
          "SR",
          List.of(
              "uuid",
              "virtual_allocation",
              "physical_utilisation",
              "physical_size",
              "type",
              "content_type",
              "shared",
              "other_config"),
          "VIF",
          List.of(
              "uuid",
              "device",
              "network",
              "VM",
              "MAC",
              "MTU",
              "other_config",
              "status_code",
              "status_detail",
              "runtime_properties",
              "qos_algorithm_type",
              "qos_algorithm_params",
              "qos_supported_algorithms"),
          "network",
          List.of("uuid", "other_config"));

  @SuppressWarnings("unchecked")
  static OvaArchive of(Object rpc) throws XvaException {
    if (!(rpc instanceof Map<?, ?> top)) {
      throw new XvaException("ova.xml: top-level value is not a struct");
    }
    if (!(top.get("version") instanceof Map<?, ?> version)) {
      throw new XvaException("ova.xml: no 'version' struct");
    }
    for (String k : VERSION_KEYS) {
      if (!version.containsKey(k)) {
        throw new XvaException("ova.xml: version has no '" + k + "'");
      }
    }
    if (!(top.get("objects") instanceof List<?> list)) {
      throw new XvaException("ova.xml: no 'objects' array");
    }
    List<Obj> objs = new ArrayList<>();
    for (Object o : list) {
      if (!(o instanceof Map<?, ?> m)
          || !(m.get("class") instanceof String cls)
          || !(m.get("id") instanceof String id)
          || !(m.get("snapshot") instanceof Map<?, ?> snap)) {
        throw new XvaException("ova.xml: an object lacks class, id or snapshot");
      }
      objs.add(new Obj(cls, id, (Map<String, Object>) snap));
    }
    return new OvaArchive((Map<String, Object>) version, objs);
  }

  Object toRpc() {
    Map<String, Object> top = new LinkedHashMap<>();
    top.put("version", version);
    List<Object> list = new ArrayList<>();
    for (Obj o : objects) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("class", o.cls());
      m.put("id", o.id());
      m.put("snapshot", o.snapshot());
      list.add(m);
    }
    top.put("objects", list);
    return top;
  }

  public List<Obj> ofClass(String cls) {
    return objects.stream().filter(o -> o.cls().equals(cls)).toList();
  }

  public Obj byId(String id) {
    return objects.stream().filter(o -> o.id().equals(id)).findFirst().orElse(null);
  }

  /** Refuses an archive from a newer xapi than {@code major.minor}, as xapi's import does. */
  void checkVersion(int major, int minor) throws XvaException {
    int theirMajor = intOf(version.get("xapi_major"), "version.xapi_major");
    int theirMinor = intOf(version.get("xapi_minor"), "version.xapi_minor");
    if (theirMajor > major || (theirMajor == major && theirMinor > minor)) {
      throw new XvaException(
          String.format(
              "ova.xml: exported by xapi %d.%d, newer than the %d.%d vdisk supports"
                  + " (IMPORT_INCOMPATIBLE_VERSION)",
              theirMajor, theirMinor, major, minor));
    }
  }

  /** Every field without a default must be present in the classes import uses. */
  void checkRequiredFields() throws XvaException {
    for (Obj o : objects) {
      for (String f : REQUIRED.getOrDefault(o.cls(), List.of())) {
        if (!o.snapshot().containsKey(f)) {
          throw new XvaException(
              "ova.xml: "
                  + o.cls()
                  + " "
                  + o.id()
                  + " has no field '"
                  + f
                  + "' (Field "
                  + f
                  + " not present in rpc)");
        }
      }
    }
  }

  /**
   * The disks import expects in the tar, in the order they come: VDIs of VBDs that are not CDs,
   * whose SR is not an ISO SR, in string order of their ids (xapi's {@code non_cdrom_vdis}).
   */
  public List<Disk> disks() throws XvaException {
    List<Disk> out = new ArrayList<>();
    for (Obj vbd : ofClass("VBD")) {
      String type = String.valueOf(vbd.snapshot().get("type")).toLowerCase(Locale.ROOT);
      Obj vdi = byId(String.valueOf(vbd.snapshot().get("VDI")));
      if (type.equals("cd") || vdi == null) {
        continue;
      }
      Obj sr = byId(String.valueOf(vdi.snapshot().get("SR")));
      if (sr != null && "iso".equalsIgnoreCase(sr.string("content_type"))) {
        continue;
      }
      if (out.stream().noneMatch(d -> d.id().equals(vdi.id()))) {
        long size = longOf(vdi.snapshot().get("virtual_size"), vdi.id() + ".virtual_size");
        // What every consumer (vm-import, xva-verify, the mount) needs of a disk, checked once.
        if (size <= 0 || size % 512 != 0 || size > io.vdisk.vhd.VhdLayout.MAX_SIZE) {
          throw new XvaException(
              io.vdisk.engine.io.Printable.of(vdi.id())
                  + ": virtual_size "
                  + size
                  + " is not a positive multiple of 512 of at most 2040 GiB");
        }
        out.add(new Disk(vdi.id(), size, vdi));
      }
    }
    out.sort(Comparator.comparing(Disk::id));
    return out;
  }

  static long longOf(Object v, String what) throws XvaException {
    try {
      return Long.parseLong(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new XvaException("ova.xml: " + what + " is not a number: '" + v + "'");
    }
  }

  static int intOf(Object v, String what) throws XvaException {
    long l = longOf(v, what);
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw new XvaException("ova.xml: " + what + " out of range: " + l);
    }
    return (int) l;
  }
}
