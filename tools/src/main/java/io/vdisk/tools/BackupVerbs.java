package io.vdisk.tools;

import io.vdisk.engine.sr.Backups;
import io.vdisk.engine.sr.StorageRepository;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Delta backups of VMs into a directory, after Xen Orchestra's layout. */
final class BackupVerbs {
  private BackupVerbs() {}

  static final Class<?>[] ALL = {Backup.class, Restore.class, BackupList.class};

  @Command(
      name = "backup",
      description = {
        "Back a VM up into a directory (full, then deltas).",
        "vm= into to=DIR/<vm-uuid>/. The first run writes a full VHD per disk, each later run a delta VHD over the run before (the VM's disks are snapshotted; the previous run's snapshots are kept until then). keep=N (or --keep N) merges the oldest runs into the full one until N remain. Prints the run's manifest name.",
        "Example: vdisk backup vm=web1 to=/mnt/backups keep=7"
      })
  static final class Backup extends XeCommand {
    @Option(names = "--keep", paramLabel = "N", description = "Keep N runs (0: all).")
    Integer keepOption;

    @Override
    Set<String> keys() {
      return Set.of("vm", "to", "keep");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      int keep = keepOption != null ? keepOption : 0;
      if (a.containsKey("keep")) {
        try {
          keep = Integer.parseInt(a.get("keep"));
        } catch (NumberFormatException e) {
          throw new ErrorHandler.UsageException("keep= must be a number, not " + a.get("keep"));
        }
      }
      if (keep < 0 || keep == 1) {
        throw new ErrorHandler.UsageException(
            "keep= must be 0 (keep all) or at least 2 (a full run and a delta)");
      }
      Backups.Result r = Backups.backup(sr, required(a, "vm"), Path.of(required(a, "to")), keep);
      for (String m : r.merged()) {
        err().println("vdisk: merged run " + m);
      }
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vm", r.run().vm());
        m.put("time", r.run().time());
        m.put("bytes", r.bytes());
        List<Map<String, Object>> disks = new ArrayList<>();
        for (Backups.Disk d : r.run().disks()) {
          Map<String, Object> o = new LinkedHashMap<>();
          o.put("vdi", d.vdi());
          o.put("file", d.file());
          o.put("kind", d.parent() == null ? "full" : "delta");
          disks.add(o);
        }
        m.put("disks", disks);
        m.put("merged", r.merged());
        printJson(m);
      } else {
        out().println(r.run().vm() + "/" + r.run().time() + ".json");
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "restore",
      description = {
        "Restore a backed-up VM into the SR as a new VM.",
        "from=DIR/<vm-uuid>; at=TIME: that run, default the latest; new-name-label=, default the VM's name. Prints the new VM's UUID.",
        "Example: vdisk restore from=/mnt/backups/$vm at=20261201T171352Z"
      })
  static final class Restore extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("from", "at", "new-name-label");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      return created(
          Backups.restore(sr, Path.of(required(a, "from")), a.get("at"), a.get("new-name-label")));
    }
  }

  @Command(
      name = "backup-list",
      description = {
        "List the backup runs of a VM's directory.",
        "from=DIR/<vm-uuid>: each run's time, disks, and whether it is full or a delta."
      })
  static final class BackupList extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("from");
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
      List<Map<String, Object>> rows = new ArrayList<>();
      for (Backups.Run r : Backups.runs(Path.of(required(a, "from")))) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", r.time());
        m.put("vm", r.vm());
        m.put("name-label", r.name());
        long deltas = r.disks().stream().filter(d -> d.parent() != null).count();
        m.put("disks", r.disks().size());
        m.put("kind", deltas == 0 ? "full" : "delta");
        rows.add(m);
      }
      return printRecords(a, rows, List.of("time", "name-label", "disks", "kind"));
    }
  }
}
