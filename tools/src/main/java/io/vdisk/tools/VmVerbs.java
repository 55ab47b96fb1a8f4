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
    VmCreate.class,
    VbdCreate.class,
    VmList.class,
    TemplateList.class,
    VmDiskList.class,
    VmParamSet.class,
    VmClone.class,
    VmCopy.class,
    VmSnapshot.class,
    VmUninstall.class,
    VmDestroy.class,
    VmInstall.class,
    SnapshotRevert.class,
    SnapshotUninstall.class
  };

  @Command(
      name = "vm-install",
      description = {
        "Install a new VM from a template.",
        "Install a new VM from template= (uuid or unique name) as new-name-label=: its disks cloned copy-on-write. Prints the VM's UUID."
      })
  static final class VmInstall extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("template", "template-uuid", "new-name-label", "sr-name-label");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String ref = either(a, "template-uuid", "template");
      Vms.VmView t = Vms.get(sr, ref);
      if (!t.template() || t.snapshot()) {
        throw new io.vdisk.engine.sr.SrException(
            io.vdisk.engine.sr.SrException.Kind.INVALID,
            t.uuid() + " (" + t.name() + ") is not a template; vm-clone copies a VM");
      }
      return created(Vms.cloneVm(sr, t.uuid(), required(a, "new-name-label")));
    }
  }

  @Command(
      name = "snapshot-revert",
      description = {
        "Revert a VM to one of its snapshots.",
        "Revert the VM a snapshot was taken of to snapshot-uuid= (or snapshot=): its disks become copy-on-write clones of the snapshot's, its former disks are destroyed."
      })
  static final class SnapshotRevert extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("snapshot-uuid", "snapshot");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.revert(sr, either(a, "snapshot-uuid", "snapshot"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "snapshot-uninstall",
      description = "Destroy the snapshot snapshot-uuid= and the disks no other VM uses.")
  static final class SnapshotUninstall extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("snapshot-uuid", "snapshot", "force");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.VmView s = Vms.get(sr, either(a, "snapshot-uuid", "snapshot"));
      if (!s.snapshot()) {
        throw new io.vdisk.engine.sr.SrException(
            io.vdisk.engine.sr.SrException.Kind.INVALID,
            s.uuid() + " (" + s.name() + ") is not a snapshot; vm-uninstall removes a VM");
      }
      Vms.uninstall(sr, s.uuid());
      return ExitCode.OK;
    }
  }

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
      String vm = either(a, "vm-uuid", "vm");
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
      return printRecords(
          a, Records.vms(sr, templates() ? Records::isTemplate : Records::isVm), defaults());
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
      return Records.VM_DEFAULTS;
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
      Vms.VmView vm = Vms.get(sr, either(a, "uuid", "vm"));
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
      return created(Vms.cloneVm(sr, either(a, "uuid", "vm"), required(a, "new-name-label")));
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
      return created(Vms.copyVm(sr, either(a, "uuid", "vm"), required(a, "new-name-label")));
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
      return created(Vms.snapshotVm(sr, either(a, "uuid", "vm"), required(a, "new-name-label")));
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
      Vms.uninstall(sr, either(a, "uuid", "vm"));
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
      Vms.destroy(sr, either(a, "uuid", "vm"));
      return ExitCode.OK;
    }
  }
}
