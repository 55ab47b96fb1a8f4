package io.vdisk.tools;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vms;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The records xe prints for SRs, VDIs, VMs and VBDs, with xapi's field names and in the order its
 * {@code records.ml} gives them; vdisk's own fields (chain-depth, parent, disks) come after. Values
 * are what xe prints: sets as {@code a; b}, maps as {@code k: v; k2: v2}, times as xapi's {@code
 * 20261201T17:13:52Z}.
 */
final class Records {
  private Records() {}

  /** xapi's Date.to_string; the epoch for "never" (a VDI that is not a snapshot). */
  private static final DateTimeFormatter XAPI_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  static String time(Instant t) {
    return XAPI_TIME.format(t == null ? Instant.EPOCH : t);
  }

  static String set(List<String> values) {
    return String.join("; ", values);
  }

  static List<Map<String, Object>> srs(StorageRepository sr) throws IOException {
    StorageRepository.SrView v = sr.view();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", v.uuid() == null ? "" : v.uuid());
    m.put("name-label", v.name() == null ? "" : v.name());
    m.put("name-description", v.description());
    m.put("host", "<not in database>");
    m.put("type", "file");
    m.put("content-type", "user");
    m.put("shared", false);
    m.put("physical-size", v.physicalSize());
    m.put("physical-utilisation", v.physicalUtilisation());
    m.put("virtual-allocation", v.virtualAllocation());
    m.put("sm-config", "");
    m.put("location", v.location().toString());
    return List.of(m);
  }

  static final List<String> SR_DEFAULTS =
      List.of("uuid", "name-label", "name-description", "host", "type", "content-type");

  static List<Map<String, Object>> vdis(StorageRepository sr) throws IOException {
    String srUuid = sr.uuid() == null ? "" : sr.uuid();
    List<StorageRepository.VdiView> all = sr.vdis();
    Map<String, List<String>> snapshotsOf = new java.util.HashMap<>();
    for (StorageRepository.VdiView s : all) {
      if (s.snapshotOf() != null) {
        snapshotsOf.computeIfAbsent(s.snapshotOf(), k -> new ArrayList<>()).add(s.uuid());
      }
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (StorageRepository.VdiView v : all) {
      List<String> snapshots = snapshotsOf.getOrDefault(v.uuid(), List.of());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("uuid", v.uuid());
      m.put("name-label", v.name());
      m.put("name-description", v.description());
      m.put("is-a-snapshot", v.snapshot());
      m.put("snapshot-of", v.snapshotOf() == null ? "<not in database>" : v.snapshotOf());
      m.put("snapshots", set(snapshots));
      m.put("snapshot-time", time(v.snapshot() ? v.created() : null));
      m.put("sr-uuid", srUuid);
      m.put("vbd-uuids", set(v.vbds()));
      m.put("virtual-size", v.virtualSize());
      m.put("physical-utilisation", v.physicalSize());
      m.put("location", v.uuid());
      m.put("type", v.type().equals("user") ? "User" : v.type());
      m.put("sharable", false);
      m.put("read-only", v.readOnly());
      m.put("managed", v.managed());
      m.put("cbt-enabled", v.cbtEnabled());
      m.put("sm-config", v.parent() == null ? "" : "vhd-parent: " + v.parent());
      m.put("chain-depth", v.depth());
      m.put("parent", v.parent());
      if (v.problem() != null) {
        m.put("problem", v.problem());
      }
      rows.add(m);
    }
    return rows;
  }

  static final List<String> VDI_DEFAULTS =
      List.of(
          "uuid",
          "name-label",
          "name-description",
          "sr-uuid",
          "virtual-size",
          "sharable",
          "read-only");

  /** The VMs, templates or snapshots {@code which} picks, from one read of them all. */
  static List<Map<String, Object>> vms(
      StorageRepository sr, java.util.function.Predicate<Vms.VmView> which) throws IOException {
    List<Vms.VmView> all = Vms.list(sr, null);
    Map<String, List<String>> snapshotsOf = new java.util.HashMap<>();
    for (Vms.VmView s : all) {
      if (s.snapshot() && s.snapshotOf() != null) {
        snapshotsOf.computeIfAbsent(s.snapshotOf(), k -> new ArrayList<>()).add(s.uuid());
      }
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Vms.VmView v : all) {
      if (!which.test(v)) {
        continue;
      }
      List<String> snapshots = snapshotsOf.getOrDefault(v.uuid(), List.of());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("uuid", v.uuid());
      m.put("name-label", v.name());
      m.put("name-description", v.description());
      m.put("power-state", "halted");
      m.put("is-a-template", v.template());
      m.put("is-a-snapshot", v.snapshot());
      m.put("snapshot-of", v.snapshotOf() == null ? "<not in database>" : v.snapshotOf());
      m.put("snapshots", set(snapshots));
      m.put("snapshot-time", time(v.snapshotTime()));
      m.put("VCPUs-max", v.vcpus());
      m.put("VCPUs-at-startup", v.vcpus());
      m.put("memory-static-max", v.memory());
      m.put("memory-dynamic-max", v.memory());
      m.put("disks", v.disks().size());
      rows.add(m);
    }
    return rows;
  }

  static final List<String> VM_DEFAULTS = List.of("uuid", "name-label", "power-state");

  /** xe's vm-list: neither templates nor snapshots (xapi flags snapshots as templates too). */
  static boolean isVm(Vms.VmView v) {
    return !v.template();
  }

  /** xe's template-list: templates that are not snapshots. */
  static boolean isTemplate(Vms.VmView v) {
    return v.template() && !v.snapshot();
  }

  static List<Map<String, Object>> vbds(StorageRepository sr) throws IOException {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Vms.VmView vm : Vms.list(sr, null)) {
      for (Vms.Disk d : vm.disks()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("uuid", d.vbd());
        m.put("vm-uuid", vm.uuid());
        m.put("vm-name-label", vm.name());
        m.put("vdi-uuid", d.vdi());
        m.put("vdi-name-label", d.vdiName());
        m.put("empty", false);
        m.put("device", "");
        m.put("userdevice", d.device());
        m.put("bootable", d.bootable());
        m.put("mode", d.mode());
        m.put("type", "Disk");
        m.put("currently-attached", false);
        rows.add(m);
      }
    }
    return rows;
  }

  static final List<String> VBD_DEFAULTS =
      List.of("uuid", "vm-uuid", "vm-name-label", "vdi-uuid", "empty", "device");

  /** The one record whose uuid is {@code uuid}, or a not-found error (exit 6). */
  static Map<String, Object> one(List<Map<String, Object>> records, String kind, String uuid)
      throws IOException {
    for (Map<String, Object> r : records) {
      if (uuid.equals(r.get("uuid"))) {
        return r;
      }
    }
    throw new io.vdisk.engine.sr.SrException(
        io.vdisk.engine.sr.SrException.Kind.NOT_FOUND,
        "no " + kind + " with uuid " + io.vdisk.engine.io.Printable.of(uuid));
  }
}
