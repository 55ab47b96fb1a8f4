package io.vdisk.tools;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vms;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;

/** The VM, VBD and template verbs of xe, one nested class each. */
final class VmVerbs {
  private VmVerbs() {}

  static final Class<?>[] ALL = {
    VmCreate.class, VbdCreate.class, VmList.class, TemplateList.class, VmDiskList.class,
    VmParamSet.class, VmClone.class, VmCopy.class, VmSnapshot.class, VmUninstall.class,
    VmDestroy.class
  };

  @Command(
      name = "vm-create",
      description =
          "Create a VM: name-label= [vcpus=1] [memory=1G] [name-description=]. Prints its UUID.")
  static final class VmCreate extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("name-label", "name-description", "vcpus", "memory");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      int vcpus;
      try {
        vcpus = Integer.parseInt(a.getOrDefault("vcpus", "1"));
      } catch (NumberFormatException e) {
        throw new ErrorHandler.UsageException("vcpus= must be a number");
      }
      long memory = a.containsKey("memory") ? size(a, "memory") : 1L << 30;
      return created(
          Vms.create(
              sr,
              required(a, "name-label"),
              a.getOrDefault("name-description", ""),
              vcpus,
              memory));
    }
  }

  @Command(
      name = "vbd-create",
      description =
          "Attach vdi-uuid= to vm-uuid= (or vm=) at device= [bootable=false] [mode=RW]. Prints the VBD's UUID.")
  static final class VbdCreate extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm-uuid", "vm", "vdi-uuid", "device", "bootable", "mode", "type");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String vm = a.containsKey("vm-uuid") ? a.get("vm-uuid") : required(a, "vm");
      return created(
          Vms.createVbd(
              sr,
              vm,
              required(a, "vdi-uuid"),
              required(a, "device"),
              bool(a, "bootable", false),
              a.getOrDefault("mode", "RW")));
    }
  }

  static List<Map<String, Object>> rows(List<Vms.VmView> vms) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Vms.VmView v : vms) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("uuid", v.uuid());
      m.put("name-label", v.name());
      m.put("name-description", v.description());
      m.put("VCPUs-max", v.vcpus());
      m.put("memory-static-max", v.memory());
      m.put("is-a-template", v.template());
      m.put("is-a-snapshot", v.snapshot());
      m.put("snapshot-of", v.snapshotOf());
      m.put("disks", v.disks().size());
      rows.add(m);
    }
    return rows;
  }

  /** vm-list and template-list: the same listing of one kind of VM. */
  abstract static class ListVms extends XeCommand {
    abstract boolean templates();

    abstract List<String> defaults();

    @Override
    Set<String> keys() {
      return Set.of();
    }

    @Override
    boolean lists() {
      return true;
    }

    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return printRecords(a, rows(Vms.list(sr, templates())), defaults());
    }
  }

  @Command(
      name = "vm-list",
      description = "List the VMs (not templates) [params=...|all] [FIELD=VALUE filters].")
  static final class VmList extends ListVms {
    @Override
    boolean templates() {
      return false;
    }

    @Override
    List<String> defaults() {
      return List.of("uuid", "name-label", "disks");
    }
  }

  @Command(
      name = "template-list",
      description = "List the templates [params=...|all] [FIELD=VALUE filters].")
  static final class TemplateList extends ListVms {
    @Override
    boolean templates() {
      return true;
    }

    @Override
    List<String> defaults() {
      return List.of("uuid", "name-label", "name-description");
    }
  }

  @Command(name = "vm-disk-list", description = "List the disks of vm= (uuid or unique name).")
  static final class VmDiskList extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid");
    }

    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.VmView vm = Vms.get(sr, a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"));
      List<Map<String, Object>> rows = new ArrayList<>();
      for (Vms.Disk d : vm.disks()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("uuid", d.vdi());
        m.put("vbd-uuid", d.vbd());
        m.put("userdevice", d.device());
        m.put("name-label", d.vdiName());
        m.put("virtual-size", d.virtualSize());
        m.put("bootable", d.bootable());
        m.put("mode", d.mode());
        m.put("chain-depth", d.depth());
        rows.add(m);
      }
      return printRecords(
          a, rows, List.of("uuid", "userdevice", "name-label", "virtual-size", "chain-depth"));
    }
  }

  @Command(
      name = "vm-param-set",
      description =
          "Set name-label=, name-description=, vcpus=, memory= or is-a-template= of uuid= (or vm=).")
  static final class VmParamSet extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of(
          "uuid", "vm", "name-label", "name-description", "vcpus", "memory", "is-a-template");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Map<String, String> p = new LinkedHashMap<>(a);
      String ref = p.containsKey("uuid") ? p.remove("uuid") : p.remove("vm");
      if (ref == null) {
        throw new ErrorHandler.UsageException("missing argument uuid=");
      }
      if (p.containsKey("memory")) {
        p.put("memory", Long.toString(size(a, "memory")));
      }
      if (p.containsKey("is-a-template")) {
        bool(a, "is-a-template", false);
      }
      Vms.setParams(sr, ref, p);
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vm-clone",
      description =
          "Fast copy-on-write clone of vm= (a VM or template) as new-name-label=. Prints the new VM's UUID.")
  static final class VmClone extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid", "new-name-label");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(
          Vms.cloneVm(
              sr,
              a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"),
              required(a, "new-name-label")));
    }
  }

  @Command(
      name = "vm-copy",
      description =
          "Full copy of vm= as new-name-label=: every disk flattened into a standalone VDI. Prints the new UUID.")
  static final class VmCopy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid", "new-name-label", "sr-uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(
          Vms.copyVm(
              sr,
              a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"),
              required(a, "new-name-label")));
    }
  }

  @Command(
      name = "vm-snapshot",
      description = "Snapshot every disk of vm= as new-name-label=. Prints the snapshot's UUID.")
  static final class VmSnapshot extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid", "new-name-label");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(
          Vms.snapshotVm(
              sr,
              a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"),
              required(a, "new-name-label")));
    }
  }

  @Command(name = "vm-uninstall", description = "Destroy vm= and the disks no other VM uses.")
  static final class VmUninstall extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid", "force");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.uninstall(sr, a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vm-destroy",
      description = "Destroy the record of vm= and its VBDs; the disks stay.")
  static final class VmDestroy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.destroy(sr, a.containsKey("uuid") ? a.get("uuid") : required(a, "vm"));
      return ExitCode.OK;
    }
  }
}
