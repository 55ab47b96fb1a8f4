package io.vdisk.tools;

import io.vdisk.engine.Converter;
import io.vdisk.engine.sr.SrMaintenance;
import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.VdiContents;
import io.vdisk.engine.sr.Vdis;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;

/** The SR and VDI verbs of xe, one nested class each. */
final class SrVerbs {
  private SrVerbs() {}

  static final Class<?>[] ALL = {
    Create.class,
    Scan.class,
    Gc.class,
    VdiCreate.class,
    VdiList.class,
    VdiParamSet.class,
    VdiSnapshot.class,
    VdiClone.class,
    VdiCopy.class,
    VdiDestroy.class,
    VdiResize.class,
    VdiImport.class,
    VdiExport.class,
    VdiIntroduce.class,
    VdiForget.class
  };

  @Command(
      name = "vdi-introduce",
      description = {
        "Give a <uuid>.vhd the catalog does not know a VDI record.",
        "Give the SR's file <uuid>.vhd, which the catalog does not know, a VDI record: uuid= [name-label=] [name-description=]. Prints the UUID."
      })
  static final class VdiIntroduce extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "name-label", "name-description", "location", "type");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String uuid = required(a, "uuid");
      if (a.containsKey("location") && !a.get("location").equals(uuid)) {
        throw new ErrorHandler.UsageException(
            "location= of a file SR's VDI is its uuid (the file <uuid>.vhd)");
      }
      Vdis.introduce(sr, uuid, a.get("name-label"), a.get("name-description"));
      return created(uuid);
    }
  }

  @Command(
      name = "vdi-forget",
      description = {
        "Remove a VDI's record and keep its file.",
        "Remove the VDI uuid='s record and keep its file (sr-scan or vdi-introduce brings it back); refused while a VM uses it."
      })
  static final class VdiForget extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vdis.forget(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "sr-create",
      description = {
        "Make the --sr directory (default ./vdisk-data) an SR: its catalog, lock and journal.",
        "A directory that already holds a XenServer file SR's <uuid>.vhd files is adopted:",
        "its VHDs are introduced as by sr-scan. An existing SR is left as it is. Prints the",
        "SR's UUID (a directory named by a UUID, as XenServer mounts a file SR, keeps it).",
        "Optional: name-label= name-description= (default: the directory's name), type=file."
      })
  static final class Create extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("name-label", "name-description", "type", "content-type");
    }

    @Override
    boolean mayCreate() {
      return true;
    }

    @Override
    boolean srNamed() {
      return true;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      if (!a.getOrDefault("type", "file").equals("file")) {
        throw new ErrorHandler.UsageException(
            "type=" + a.get("type") + ": vdisk makes file SRs only (type=file)");
      }
      SrMaintenance.scan(sr).forEach(out()::println);
      if (a.containsKey("name-label") || a.containsKey("name-description")) {
        sr.setNames(a.get("name-label"), a.get("name-description"));
      }
      out().println(sr.uuid());
      return ExitCode.OK;
    }
  }

  @Command(
      name = "sr-scan",
      description = {
        "Reconcile the SR's catalog with its files.",
        "Reconcile the catalog with the SR's files; report what changed, and journal records that could be neither finished nor rolled back (clear-failed=true removes those once reported: a person has looked at them)."
      })
  static final class Scan extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("clear-failed", "uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      if (a.containsKey("uuid")) {
        sr.requireUuid(a.get("uuid"));
      }
      List<String> report = SrMaintenance.scan(sr);
      report.forEach(out()::println);
      if (bool(a, "clear-failed", false)) {
        out().println("cleared " + SrMaintenance.clearFailed(sr) + " record(s) set aside");
        return ExitCode.OK;
      }
      if (report.isEmpty()) {
        out().println("catalog and files agree (" + sr.vdis().size() + " VDIs)");
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "sr-gc",
      description =
          "Delete unused base copies; coalesce a base into a parent that has no other child.")
  static final class Gc extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of();
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      List<String> report = SrMaintenance.gc(sr);
      report.forEach(out()::println);
      if (report.isEmpty()) {
        out().println("nothing to collect");
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-create",
      description =
          "Create an empty VDI: name-label= virtual-size= [name-description=]. Prints its UUID.")
  static final class VdiCreate extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("name-label", "virtual-size", "name-description", "sr-uuid", "type");
    }

    @Override
    boolean mayCreate() {
      return true;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(
          Vdis.create(
              sr,
              required(a, "name-label"),
              a.getOrDefault("name-description", ""),
              size(a, "virtual-size")));
    }
  }

  @Command(
      name = "vdi-list",
      description =
          "List VDIs with their chain depth and parent [params=...|all] [FIELD=VALUE filters].")
  static final class VdiList extends XeCommand {
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
      return printRecords(a, Records.vdis(sr), Records.VDI_DEFAULTS);
    }
  }

  @Command(
      name = "vdi-param-set",
      description = "Set name-label=, name-description= or read-only= of uuid=.")
  static final class VdiParamSet extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "name-label", "name-description", "read-only");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Map<String, String> params = new LinkedHashMap<>(a);
      params.remove("uuid");
      Vdis.setParams(sr, required(a, "uuid"), params);
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-snapshot",
      description = "Snapshot uuid= (copy-on-write, read-only). Prints the snapshot's UUID.")
  static final class VdiSnapshot extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(Vdis.snapshot(sr, required(a, "uuid")));
    }
  }

  @Command(
      name = "vdi-clone",
      description = "Clone uuid= (copy-on-write, writable). Prints the clone's UUID.")
  static final class VdiClone extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(Vdis.clone(sr, required(a, "uuid")));
    }
  }

  @Command(
      name = "vdi-copy",
      description = "Copy uuid= into a new standalone VDI (the chain flattened). Prints its UUID.")
  static final class VdiCopy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "sr-uuid", "name-label");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(Vdis.copy(sr, required(a, "uuid"), a.get("name-label")));
    }
  }

  @Command(name = "vdi-destroy", description = "Destroy uuid= (refused while a VM uses it).")
  static final class VdiDestroy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vdis.destroy(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }

  @Command(name = "vdi-resize", description = "Grow uuid= to disk-size=.")
  static final class VdiResize extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "disk-size", "online");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Vdis.resize(sr, required(a, "uuid"), size(a, "disk-size"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-import",
      description = {
        "Replace uuid='s contents, or apply a delta VHD.",
        "filename=- or a pipe is read as a stream; format=raw|vhd, default raw; the contents are replaced whole. A differencing VHD (a delta from vdi-export base=) is applied instead: only its own sectors are written, onto a VDI that holds its parent (the image last imported into it, or force=true)."
      })
  static final class VdiImport extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "filename", "format", "force");
    }

    /**
     * A stream is read without the SR's lock and the VDI's (its sender may pause for as long as it
     * likes); they are taken to check and replace the VDI's file. A file or a delta is applied
     * under them.
     */
    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository readOnly) throws Exception {
      String filename = required(a, "filename");
      if (Stdio.isDash(filename) || isStream(Path.of(filename))) {
        if (a.containsKey("force")) {
          throw new ErrorHandler.UsageException("force= is for deltas (differencing VHDs) only");
        }
        io.vdisk.engine.Disks.Format format =
            ConvertCommand.parseFormat(a.getOrDefault("format", "raw"));
        StorageRepository.open(readOnly.dir(), true, spec.name()).close(); // locks, mount, recovery
        try (java.io.InputStream in = Stdio.input(filename);
            VdiContents.StagedContents staged =
                VdiContents.stageContents(readOnly, required(a, "uuid"), in, format, progress());
            StorageRepository sr = StorageRepository.open(readOnly.dir(), true, spec.name())) {
          VdiContents.commitContents(sr, staged);
        }
        return ExitCode.OK;
      }
      try (StorageRepository sr = StorageRepository.open(readOnly.dir(), true, spec.name())) {
        sr.setProgress(progress());
        return fromFile(a, sr);
      }
    }

    private static boolean isStream(Path p) {
      return java.nio.file.Files.exists(p) && !java.nio.file.Files.isRegularFile(p);
    }

    private int fromFile(Map<String, String> a, StorageRepository sr) throws Exception {
      Path p = Path.of(required(a, "filename"));
      io.vdisk.engine.Disks.Format format =
          ConvertCommand.parseFormat(a.getOrDefault("format", "raw"));
      if (format == io.vdisk.engine.Disks.Format.VHD
          && java.nio.file.Files.isRegularFile(p)
          && io.vdisk.engine.Disks.isDifferencingVhd(p)) {
        io.vdisk.engine.sr.Deltas.Imported r =
            io.vdisk.engine.sr.Deltas.importDelta(
                sr, required(a, "uuid"), p, bool(a, "force", false), progress());
        err().println("vdisk: applied " + Sizes.human(r.bytes()) + " of delta " + r.delta());
        return ExitCode.OK;
      }
      if (a.containsKey("force")) {
        throw new ErrorHandler.UsageException("force= is for deltas (differencing VHDs) only");
      }
      VdiContents.importFrom(sr, required(a, "uuid"), p, format);
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-export",
      description = {
        "Write uuid='s contents, or a delta, to filename=.",
        "filename=- is stdout; format=raw|vhd|qcow2, default raw (qcow2: a whole disk to a file, for KVM and Proxmox); a file is sparse. A VHD's footer UUID is the VDI's UUID. With base=SNAPSHOT (one of the VDI's snapshots): only what changed since it, as a differencing VHD whose parent is ./SNAPSHOT.vhd (a full export of the snapshot saved under that name), or with format=raw a sparse file holding only the changed ranges (--json lists them).",
        "Example: vdisk vdi-export uuid=VDI base=SNAP format=vhd filename=delta.vhd"
      })
  static final class VdiExport extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid", "filename", "format", "base");
    }

    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String f = a.getOrDefault("format", "raw");
      Converter.Target t =
          switch (f) {
            case "raw" -> Converter.Target.RAW;
            case "vhd" -> Converter.Target.VHD;
            case "qcow2" -> Converter.Target.QCOW2;
            default ->
                throw new ErrorHandler.UsageException(
                    "format= must be raw, vhd or qcow2, not " + f);
          };
      String filename = required(a, "filename");
      String base = a.get("base");
      if (t == Converter.Target.QCOW2 && (base != null || Stdio.isDash(filename))) {
        throw new ErrorHandler.UsageException(
            "format=qcow2 writes a whole disk to a file: no base=, no filename=-");
      }
      if (base != null) {
        return delta(a, sr, base, filename, t == Converter.Target.RAW);
      }
      if (Stdio.isDash(filename)) {
        java.io.OutputStream out = Stdio.stdout();
        VdiContents.exportTo(sr, required(a, "uuid"), out, t, progress());
        out.flush();
      } else {
        VdiContents.exportTo(sr, required(a, "uuid"), Path.of(filename), t);
      }
      return ExitCode.OK;
    }

    private int delta(
        Map<String, String> a, StorageRepository sr, String base, String filename, boolean raw)
        throws Exception {
      String uuid = required(a, "uuid");
      if (!Stdio.isDash(filename)) {
        io.vdisk.engine.sr.Deltas.Result r =
            io.vdisk.engine.sr.Deltas.export(sr, uuid, base, Path.of(filename), raw, progress());
        if (json) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("filename", filename);
          m.put("format", raw ? "raw" : "vhd");
          m.put("size", r.changes().size());
          m.put("from-size", r.changes().fromSize());
          m.put("bytes", r.bytes());
          List<Map<String, Long>> ranges = new ArrayList<>();
          for (io.vdisk.engine.ChangedBlocks.Range x : r.changes().exact()) {
            Map<String, Long> e = new LinkedHashMap<>();
            e.put("offset", x.offset());
            e.put("length", x.length());
            ranges.add(e);
          }
          m.put("ranges", ranges);
          printJson(m);
        }
        return ExitCode.OK;
      }
      if (raw) {
        throw new ErrorHandler.UsageException(
            "a raw delta needs a file (its holes are what did not change); format=vhd streams");
      }
      java.io.OutputStream out = Stdio.stdout();
      io.vdisk.engine.sr.Deltas.export(sr, uuid, base, out, progress());
      return ExitCode.OK;
    }
  }
}
