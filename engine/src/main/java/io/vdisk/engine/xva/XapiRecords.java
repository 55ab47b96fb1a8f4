package io.vdisk.engine.xva;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The records vdisk writes into {@code ova.xml}: every field xapi's datamodel has for VM, VBD, VDI
 * and SR, with the values a new halted VM has in xapi (docs/reference/xva-format-notes.md §3.5).
 * Beside {@link OvaArchive#REQUIRED}, the fields import insists on; {@code XapiRecordsTest} checks
 * that these records carry every one of them.
 */
public final class XapiRecords {
  private XapiRecords() {}

  /** The version header vdisk writes: XO's values, accepted by every XenServer/XCP-ng 8.x. */
  public static Map<String, Object> version() {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("hostname", "localhost");
    v.put("date", "2026-11-25");
    v.put("product_version", "8.2.1");
    v.put("product_brand", "XCP-ng");
    v.put("build_number", "vdisk");
    v.put("xapi_major", 1L);
    v.put("xapi_minor", 20L);
    v.put("export_vsn", 2L);
    return v;
  }

  /** A halted HVM VM with {@code vbds}, every other field at xapi's value for a new VM. */
  public static Map<String, Object> vm(
      String uuid,
      String name,
      String description,
      boolean template,
      long memory,
      int vcpus,
      List<String> vbds) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", uuid);
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("power_state", "Halted");
    m.put("name_label", name);
    m.put("name_description", description);
    m.put("user_version", 1L);
    m.put("is_a_template", template);
    m.put("is_default_template", false);
    m.put("suspend_VDI", "OpaqueRef:NULL");
    m.put("resident_on", "OpaqueRef:NULL");
    m.put("affinity", "OpaqueRef:NULL");
    m.put("memory_overhead", 0L);
    m.put("memory_target", 0L);
    m.put("memory_static_max", memory);
    m.put("memory_dynamic_max", memory);
    m.put("memory_dynamic_min", memory);
    m.put("memory_static_min", memory);
    m.put("VCPUs_params", Map.of());
    m.put("VCPUs_max", (long) vcpus);
    m.put("VCPUs_at_startup", (long) vcpus);
    m.put("actions_after_softreboot", "soft_reboot");
    m.put("actions_after_shutdown", "destroy");
    m.put("actions_after_reboot", "restart");
    m.put("actions_after_crash", "restart");
    m.put("consoles", List.of());
    m.put("VIFs", List.of());
    m.put("VBDs", vbds);
    m.put("VUSBs", List.of());
    m.put("crash_dumps", List.of());
    m.put("VTPMs", List.of());
    m.put("PV_bootloader", "");
    m.put("PV_kernel", "");
    m.put("PV_ramdisk", "");
    m.put("PV_args", "");
    m.put("PV_bootloader_args", "");
    m.put("PV_legacy_args", "");
    m.put("HVM_boot_policy", "BIOS order");
    m.put("HVM_boot_params", Map.of("order", "cdn", "firmware", "bios"));
    m.put("HVM_shadow_multiplier", 1.0);
    Map<String, Object> platform = new LinkedHashMap<>();
    platform.put("acpi", "1");
    platform.put("apic", "true");
    platform.put("pae", "true");
    platform.put("nx", "true");
    platform.put("viridian", "false");
    platform.put("device-model", "qemu-upstream-compat");
    platform.put("secureboot", "false");
    platform.put("timeoffset", "0");
    m.put("platform", platform);
    m.put("PCI_bus", "");
    m.put("other_config", Map.of("mac_seed", UUID.randomUUID().toString()));
    m.put("domid", -1L);
    m.put("domarch", "");
    m.put("last_boot_CPU_flags", Map.of());
    m.put("is_control_domain", false);
    m.put("metrics", "OpaqueRef:NULL");
    m.put("guest_metrics", "OpaqueRef:NULL");
    m.put("last_booted_record", "");
    m.put("recommendations", "");
    m.put("xenstore_data", Map.of());
    m.put("ha_always_run", false);
    m.put("ha_restart_priority", "");
    m.put("is_a_snapshot", false);
    m.put("snapshot_of", "OpaqueRef:NULL");
    m.put("snapshots", List.of());
    m.put("snapshot_time", new OvaXml.DateTime("19700101T00:00:00Z"));
    m.put("transportable_snapshot_id", "");
    m.put("blobs", Map.of());
    m.put("tags", List.of());
    m.put("blocked_operations", Map.of());
    m.put("snapshot_info", Map.of());
    m.put("snapshot_metadata", "");
    m.put("parent", "OpaqueRef:NULL");
    m.put("children", List.of());
    m.put("bios_strings", Map.of());
    m.put("protection_policy", "OpaqueRef:NULL");
    m.put("is_snapshot_from_vmpp", false);
    m.put("appliance", "OpaqueRef:NULL");
    m.put("start_delay", 0L);
    m.put("shutdown_delay", 0L);
    m.put("order", 0L);
    m.put("VGPUs", List.of());
    m.put("attached_PCIs", List.of());
    m.put("suspend_SR", "OpaqueRef:NULL");
    m.put("version", 0L);
    m.put("generation_id", "0:0");
    m.put("hardware_platform_version", 0L);
    m.put("has_vendor_device", false);
    m.put("requires_reboot", false);
    m.put("reference_label", "");
    m.put("domain_type", "hvm");
    m.put("NVRAM", Map.of());
    return m;
  }

  /** A disk VBD (not a CD) joining {@code vmId} and {@code vdiId}. */
  public static Map<String, Object> vbd(
      String uuid, String vmId, String vdiId, String userdevice, boolean bootable, String mode) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", uuid);
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("VM", vmId);
    m.put("VDI", vdiId);
    m.put("device", "");
    m.put("userdevice", userdevice);
    m.put("bootable", bootable);
    m.put("mode", mode);
    m.put("type", "Disk");
    m.put("unpluggable", true);
    m.put("storage_lock", false);
    m.put("empty", false);
    m.put("other_config", Map.of());
    m.put("currently_attached", false);
    m.put("status_code", 0L);
    m.put("status_detail", "");
    m.put("runtime_properties", Map.of());
    m.put("qos_algorithm_type", "");
    m.put("qos_algorithm_params", Map.of());
    m.put("qos_supported_algorithms", List.of());
    m.put("metrics", "OpaqueRef:NULL");
    return m;
  }

  /** A user VDI of {@code size} bytes in {@code srId}, plugged by {@code vbdId}. */
  public static Map<String, Object> vdi(
      String uuid,
      String name,
      String description,
      String srId,
      String vbdId,
      long size,
      long physical) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", uuid);
    m.put("name_label", name);
    m.put("name_description", description);
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("SR", srId);
    m.put("VBDs", List.of(vbdId));
    m.put("crash_dumps", List.of());
    m.put("virtual_size", size);
    m.put("physical_utilisation", physical);
    m.put("type", "user");
    m.put("sharable", false);
    m.put("read_only", false);
    m.put("other_config", Map.of());
    m.put("storage_lock", false);
    m.put("location", uuid);
    m.put("managed", true);
    m.put("missing", false);
    m.put("parent", "OpaqueRef:NULL");
    m.put("xenstore_data", Map.of());
    m.put("sm_config", Map.of("vdi_type", "vhd"));
    m.put("is_a_snapshot", false);
    m.put("snapshot_of", "OpaqueRef:NULL");
    m.put("snapshots", List.of());
    m.put("snapshot_time", new OvaXml.DateTime("19700101T00:00:00Z"));
    m.put("tags", List.of());
    m.put("allow_caching", false);
    m.put("on_boot", "persist");
    m.put("metadata_of_pool", "OpaqueRef:NULL");
    m.put("metadata_latest", false);
    m.put("is_tools_iso", false);
    m.put("cbt_enabled", false);
    return m;
  }

  /** The SR record an archive carries for its VDIs (import places them in its own SR). */
  public static Map<String, Object> sr(List<String> vdis, long allocation) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", UUID.randomUUID().toString());
    m.put("name_label", "vdisk SR");
    m.put("name_description", "");
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("VDIs", vdis);
    m.put("PBDs", List.of());
    m.put("virtual_allocation", allocation);
    m.put("physical_utilisation", allocation);
    m.put("physical_size", allocation);
    m.put("type", "ext");
    m.put("content_type", "user");
    m.put("shared", false);
    m.put("other_config", Map.of());
    m.put("tags", List.of());
    m.put("sm_config", Map.of());
    m.put("blobs", Map.of());
    m.put("local_cache_enabled", false);
    m.put("introduced_by", "OpaqueRef:NULL");
    m.put("clustered", false);
    m.put("is_tools_sr", false);
    return m;
  }
}
