package io.vdisk.tools;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vms;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;

/**
 * xe's record verbs for the SR, VDIs, VMs and VBDs: {@code sr-list}, {@code vbd-list}, {@code
 * snapshot-list}, and {@code *-param-list uuid=} (every field of one record) and {@code *-param-get
 * uuid= param-name= [param-key=]} (one field's value alone).
 */
final class RecordVerbs {
  private RecordVerbs() {}

  static final Class<?>[] ALL = {
    SrList.class,
    SrParamList.class,
    SrParamGet.class,
    SrParamSet.class,
    VdiParamList.class,
    VdiParamGet.class,
    VmParamList.class,
    VmParamGet.class,
    VbdList.class,
    VbdParamList.class,
    VbdParamGet.class,
    VbdDestroy.class,
    SnapshotList.class
  };

  /** Where a kind of record comes from. */
  @FunctionalInterface
  interface Source {
    List<Map<String, Object>> records(StorageRepository sr) throws IOException;
  }

  /** Reads one kind of record; the verbs below only choose which. */
  abstract static class Reader extends XeCommand {
    private final String kind;
    private final Source source;

    Reader(String kind, Source source) {
      this.kind = kind;
      this.source = source;
    }

    final List<Map<String, Object>> records(StorageRepository sr) throws IOException {
      return source.records(sr);
    }

    /** The kind's name in errors: SR, VDI, VM, VBD. */
    final String kind() {
      return kind;
    }

    @Override
    boolean changes() {
      return false;
    }
  }

  /** {@code *-list}: filtered on any field, {@code params=}, {@code --minimal}, {@code --json}. */
  abstract static class Lister extends Reader {
    private final List<String> defaults;

    Lister(String kind, Source source, List<String> defaults) {
      super(kind, source);
      this.defaults = defaults;
    }

    @Override
    Set<String> keys() {
      return Set.of();
    }

    @Override
    boolean lists() {
      return true;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return printRecords(a, records(sr), defaults);
    }
  }

  /** {@code *-param-list uuid=}: every field of one record. */
  abstract static class ParamList extends Reader {
    ParamList(String kind, Source source) {
      super(kind, source);
    }

    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Map<String, Object> r = Records.one(records(sr), kind(), required(a, "uuid"));
      Map<String, String> all = new LinkedHashMap<>();
      all.put("params", "all");
      return printRecords(all, List.of(r), List.of());
    }
  }

  /**
   * {@code *-param-get uuid= param-name= [param-key=]}: the value alone, as xe prints it; for a map
   * field, {@code param-key=} picks one entry.
   */
  abstract static class ParamGet extends Reader {
    ParamGet(String kind, Source source) {
      super(kind, source);
    }

    @Override
    Set<String> keys() {
      return Set.of("uuid", "param-name", "param-key");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Map<String, Object> r = Records.one(records(sr), kind(), required(a, "uuid"));
      String name = required(a, "param-name");
      if (!r.containsKey(name)) {
        throw new ErrorHandler.UsageException(
            "unknown parameter '" + name + "'; a " + kind() + " has " + r.keySet());
      }
      String value = r.get(name) == null ? "<not in database>" : r.get(name).toString();
      String key = a.get("param-key");
      if (key != null) {
        value = mapEntry(name, value, key);
      }
      out().println(value);
      return ExitCode.OK;
    }

    private String mapEntry(String name, String map, String key) throws IOException {
      for (String entry : map.isEmpty() ? new String[0] : map.split("; ")) {
        int colon = entry.indexOf(": ");
        if (colon > 0 && entry.substring(0, colon).equals(key)) {
          return entry.substring(colon + 2);
        }
      }
      throw new io.vdisk.engine.sr.SrException(
          io.vdisk.engine.sr.SrException.Kind.NOT_FOUND,
          kind() + " field " + name + " has no key " + io.vdisk.engine.io.Printable.of(key));
    }
  }

  // ---- SR -----------------------------------------------------------------------------------

  @Command(
      name = "sr-list",
      description = "List the SR (uuid, name, type, sizes) [params=...|all] [FIELD=VALUE filters].")
  static final class SrList extends Lister {
    SrList() {
      super("SR", Records::srs, Records.SR_DEFAULTS);
    }
  }

  @Command(name = "sr-param-list", description = "Every field of the SR uuid=.")
  static final class SrParamList extends ParamList {
    SrParamList() {
      super("SR", Records::srs);
    }
  }

  @Command(name = "sr-param-get", description = "One field of the SR uuid=: param-name=.")
  static final class SrParamGet extends ParamGet {
    SrParamGet() {
      super("SR", Records::srs);
    }
  }

  @Command(name = "sr-param-set", description = "Set name-label= or name-description= of SR uuid=.")
  static final class SrParamSet extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "name-label", "name-description");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      sr.requireUuid(required(a, "uuid"));
      sr.setNames(a.get("name-label"), a.get("name-description"));
      return ExitCode.OK;
    }
  }

  // ---- VDI ----------------------------------------------------------------------------------

  @Command(name = "vdi-param-list", description = "Every field of the VDI uuid=.")
  static final class VdiParamList extends ParamList {
    VdiParamList() {
      super("VDI", Records::vdis);
    }
  }

  @Command(
      name = "vdi-param-get",
      description = "One field of the VDI uuid=: param-name= [param-key=] (sm-config: vhd-parent).")
  static final class VdiParamGet extends ParamGet {
    VdiParamGet() {
      super("VDI", Records::vdis);
    }
  }

  // ---- VM -----------------------------------------------------------------------------------

  @Command(
      name = "vm-param-list",
      description = "Every field of the VM, template or snapshot uuid=.")
  static final class VmParamList extends ParamList {
    VmParamList() {
      super("VM", sr -> Records.vms(sr, v -> true));
    }
  }

  @Command(name = "vm-param-get", description = "One field of the VM uuid=: param-name=.")
  static final class VmParamGet extends ParamGet {
    VmParamGet() {
      super("VM", sr -> Records.vms(sr, v -> true));
    }
  }

  @Command(
      name = "snapshot-list",
      description = "List the VM snapshots [params=...|all] [FIELD=VALUE filters].")
  static final class SnapshotList extends Lister {
    SnapshotList() {
      super(
          "snapshot",
          sr -> Records.vms(sr, Vms.VmView::snapshot),
          List.of("uuid", "name-label", "name-description", "snapshot-of", "snapshot-time"));
    }
  }

  // ---- VBD ----------------------------------------------------------------------------------

  @Command(
      name = "vbd-list",
      description = "List the VBDs (a VM's disks) [params=...|all] [FIELD=VALUE filters].")
  static final class VbdList extends Lister {
    VbdList() {
      super("VBD", Records::vbds, Records.VBD_DEFAULTS);
    }
  }

  @Command(name = "vbd-param-list", description = "Every field of the VBD uuid=.")
  static final class VbdParamList extends ParamList {
    VbdParamList() {
      super("VBD", Records::vbds);
    }
  }

  @Command(name = "vbd-param-get", description = "One field of the VBD uuid=: param-name=.")
  static final class VbdParamGet extends ParamGet {
    VbdParamGet() {
      super("VBD", Records::vbds);
    }
  }

  @Command(name = "vbd-destroy", description = "Destroy the VBD uuid= (the VDI stays).")
  static final class VbdDestroy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vms.destroyVbd(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }
}
