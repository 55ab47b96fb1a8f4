package io.vdisk.engine.sr;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.TempFiles;
import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.OvaArchive;
import io.vdisk.engine.xva.OvaXml;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaException;
import io.vdisk.engine.xva.XvaReader;
import io.vdisk.engine.xva.XvaWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * vm-export and vm-import between an SR and XVA archives. Export writes full xapi records (every
 * field without a default, and the ones older XenServers insisted on) for the VM, its VBDs, VDIs
 * and the SR, ids {@code Ref:100…} (fixed width, so string order is numeric order). Import streams
 * each disk into a new sparse VHD under a temporary name, then renames them and creates the VM,
 * VBDs and VDIs in one catalog transaction; a failure removes everything it made.
 */
public final class XvaTransfer {
  private XvaTransfer() {}

  /** The version header vdisk writes: XO's values, accepted by every XenServer/XCP-ng 8.x. */
  static Map<String, Object> version() {
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

  /**
   * Exports to a new file, which appears whole or not at all ({@link Publisher}: written under a
   * temporary name, fsynced, renamed, the directory fsynced).
   */
  public static XvaWriter.Result exportToFile(
      StorageRepository sr,
      String vmRef,
      java.nio.file.Path target,
      XvaCompression compression,
      ChunkChecksum checksum)
      throws IOException {
    StorageProvider p = sr.provider();
    return Publisher.publish(
        p,
        target,
        "export",
        false,
        tmp -> {
          try (io.vdisk.engine.io.Storage s = p.create(tmp);
              OutputStream out = io.vdisk.engine.io.Storages.outputStream(s)) {
            XvaWriter.Result r = export(sr, vmRef, out, compression, checksum);
            out.flush();
            s.force();
            return r;
          }
        });
  }

  public static XvaWriter.Result export(
      StorageRepository sr,
      String vmRef,
      OutputStream out,
      XvaCompression compression,
      ChunkChecksum checksum)
      throws IOException {
    Catalog.Vm vm = Vms.resolve(sr, vmRef);
    List<Catalog.Vbd> vbds =
        sr.catalog().vbds().stream().filter(b -> b.vm().equals(vm.uuid())).toList();
    int next = 100;
    String vmId = "Ref:" + next++;
    String srId = "Ref:" + next++;
    List<OvaArchive.Obj> objects = new ArrayList<>();
    List<String> vbdIds = new ArrayList<>();
    List<String> vdiIds = new ArrayList<>();
    Map<String, VirtualDisk> disks = new LinkedHashMap<>();
    List<VirtualDisk> opened = new ArrayList<>();
    long allocation = 0;
    try {
      for (Catalog.Vbd b : vbds) {
        String vbdId = "Ref:" + next++;
        String vdiId = "Ref:" + next++;
        vbdIds.add(vbdId);
        vdiIds.add(vdiId);
        Catalog.Vdi v = sr.record(b.vdi());
        VirtualDisk d = sr.openVdi(b.vdi(), true, "vm-export");
        opened.add(d);
        disks.put(vdiId, d);
        allocation += d.size();
        objects.add(new OvaArchive.Obj("VBD", vbdId, vbd(b, vmId, vdiId)));
        objects.add(
            new OvaArchive.Obj(
                "VDI", vdiId, vdi(v, srId, vbdId, d.size(), Files.size(sr.file(b.vdi())))));
      }
      objects.add(0, new OvaArchive.Obj("VM", vmId, vm(vm, vbdIds)));
      objects.add(new OvaArchive.Obj("SR", srId, srRecord(vdiIds, allocation)));
      OvaArchive ova = new OvaArchive(version(), objects);
      return XvaWriter.write(ova, disks, out, compression, checksum, Instant.now());
    } finally {
      for (VirtualDisk d : opened) {
        d.close();
      }
    }
  }

  private static Map<String, Object> vm(Catalog.Vm vm, List<String> vbds) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", vm.uuid());
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("power_state", "Halted");
    m.put("name_label", vm.name());
    m.put("name_description", vm.description());
    m.put("user_version", 1L);
    m.put("is_a_template", vm.template());
    m.put("is_default_template", false);
    m.put("suspend_VDI", "OpaqueRef:NULL");
    m.put("resident_on", "OpaqueRef:NULL");
    m.put("affinity", "OpaqueRef:NULL");
    m.put("memory_overhead", 0L);
    m.put("memory_target", 0L);
    m.put("memory_static_max", vm.memory());
    m.put("memory_dynamic_max", vm.memory());
    m.put("memory_dynamic_min", vm.memory());
    m.put("memory_static_min", vm.memory());
    m.put("VCPUs_params", Map.of());
    m.put("VCPUs_max", (long) vm.vcpus());
    m.put("VCPUs_at_startup", (long) vm.vcpus());
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

  private static Map<String, Object> vbd(Catalog.Vbd b, String vmId, String vdiId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", b.uuid());
    m.put("allowed_operations", List.of());
    m.put("current_operations", Map.of());
    m.put("VM", vmId);
    m.put("VDI", vdiId);
    m.put("device", "");
    m.put("userdevice", b.device());
    m.put("bootable", b.bootable());
    m.put("mode", b.mode());
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

  private static Map<String, Object> vdi(
      Catalog.Vdi v, String srId, String vbdId, long size, long physical) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uuid", v.uuid());
    m.put("name_label", v.name());
    m.put("name_description", v.description());
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
    m.put("location", v.uuid());
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

  private static Map<String, Object> srRecord(List<String> vdis, long allocation) {
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

  /** What vm-import made. */
  public record Imported(String vm, List<String> vdis, XvaReader.Result read) {}

  /** Imports an archive into the SR; prints nothing, leaves nothing behind on failure. */
  public static Imported importVm(StorageRepository sr, InputStream in, boolean force)
      throws IOException {
    sr.requireWritable();
    StorageProvider p = sr.provider();
    List<String> made = new ArrayList<>();
    Map<String, String> vdiByRef = new LinkedHashMap<>();
    List<DiskChain> open = new ArrayList<>();
    SrJournal.Entry[] journal = {sr.begin(new SrOp.XvaImport(List.of()))};
    boolean committed = false;
    try {
      XvaReader.Result r =
          XvaReader.read(
              in,
              disk -> {
                String uuid = UUID.randomUUID().toString();
                made.add(uuid);
                vdiByRef.put(disk.id(), uuid);
                journal[0] = sr.note(journal[0], new SrOp.XvaImport(List.copyOf(made)));
                VhdCreator.createDynamic(
                    p, tmp(sr, uuid), VhdCreator.Spec.dynamic(disk.virtualSize()));
                DiskChain c =
                    DiskChain.open(
                        tmp(sr, uuid),
                        StorageProvider.Access.WRITE,
                        p,
                        sr.dir(),
                        WriteRule.Grant.NEW_IMAGE);
                open.add(c);
                return (offset, data) -> c.write(offset, data);
              },
              force);
      for (DiskChain c : open) {
        c.close();
      }
      open.clear();
      for (String uuid : made) {
        p.move(tmp(sr, uuid), sr.file(uuid));
      }
      OvaArchive ova = r.ova();
      OvaArchive.Obj vmObj =
          ova.ofClass("VM").stream()
              .findFirst()
              .orElseThrow(() -> new XvaException("ova.xml: no VM object"));
      String vmUuid = UUID.randomUUID().toString();
      Map<String, Object> vm = vmObj.snapshot();
      sr.catalog()
          .transaction(
              () -> {
                for (OvaArchive.Disk d : ova.disks()) {
                  Map<String, Object> v = d.vdi().snapshot();
                  sr.catalog()
                      .putVdi(
                          new Catalog.Vdi(
                              vdiByRef.get(d.id()),
                              str(v.get("name_label"), d.id()),
                              str(v.get("name_description"), ""),
                              false,
                              false,
                              null,
                              true));
                }
                sr.catalog()
                    .putVm(
                        new Catalog.Vm(
                            vmUuid,
                            str(vm.get("name_label"), "imported"),
                            str(vm.get("name_description"), ""),
                            (int) num(vm.get("VCPUs_max"), 1),
                            num(vm.get("memory_static_max"), 1L << 30),
                            Boolean.TRUE.equals(vm.get("is_a_template")),
                            false,
                            null,
                            "{}"));
                for (OvaArchive.Obj vbd : ova.ofClass("VBD")) {
                  String vdi = vdiByRef.get(String.valueOf(vbd.snapshot().get("VDI")));
                  if (vdi == null) {
                    continue;
                  }
                  sr.catalog()
                      .putVbd(
                          new Catalog.Vbd(
                              UUID.randomUUID().toString(),
                              vmUuid,
                              vdi,
                              str(vbd.snapshot().get("userdevice"), "0"),
                              Boolean.TRUE.equals(vbd.snapshot().get("bootable")),
                              str(vbd.snapshot().get("mode"), "RW").toUpperCase(Locale.ROOT)));
                }
              });
      committed = true;
      try {
        sr.end(journal[0]);
      } catch (IOException leftBehind) {
        // Imported and durable: the next open finds every file in the catalog and only removes
        // the record. Reporting failure now would be a lie.
      }
      return new Imported(vmUuid, new ArrayList<>(vdiByRef.values()), r);
    } catch (IOException | RuntimeException | Error e) {
      if (committed) {
        throw e;
      }
      // Errors too (a StackOverflowError from a hostile ova.xml): nothing half-imported stays.
      for (DiskChain c : open) {
        try {
          c.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      try {
        rollBack(sr, made);
        sr.end(journal[0]);
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed); // the record stays; the next open undoes the import
      }
      throw e;
    }
  }

  /** Removes the files of an import that did not complete (also run from the journal). */
  static void rollBack(StorageRepository sr, List<String> uuids) throws IOException {
    for (String uuid : uuids) {
      if (sr.catalog().vdi(uuid).isEmpty()) {
        sr.provider().delete(tmp(sr, uuid));
        sr.provider().delete(sr.file(uuid));
      }
    }
  }

  static java.nio.file.Path tmp(StorageRepository sr, String uuid) {
    return TempFiles.next(sr.file(uuid), "import");
  }

  private static String str(Object o, String dflt) {
    return o == null ? dflt : o.toString();
  }

  private static long num(Object o, long dflt) {
    try {
      return o == null ? dflt : Long.parseLong(o.toString().trim());
    } catch (NumberFormatException e) {
      return dflt;
    }
  }
}
