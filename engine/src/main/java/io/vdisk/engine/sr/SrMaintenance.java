package io.vdisk.engine.sr;

import io.vdisk.engine.Coalescer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * sr-scan (reconcile the catalog with the files) and sr-gc (delete unused hidden bases, coalesce a
 * hidden base into its parent when that parent has no other child, as XenServer's GC does).
 */
public final class SrMaintenance {
  private SrMaintenance() {}

  /**
   * Makes the catalog agree with the files: forgets VDIs whose file is gone, introduces files the
   * catalog does not know (named by their UUID, as on a XenServer SR), marks hidden files as base
   * copies. Returns one line per change or problem.
   */
  public static List<String> scan(StorageRepository sr) throws IOException {
    sr.requireWritable();
    SrTree tree = SrTree.read(sr.dir());
    List<String> report = new ArrayList<>(sr.failedJournals());
    report.addAll(tree.refused());
    Catalog c = sr.catalog();
    Set<String> known = new HashSet<>();
    for (Catalog.Vdi v : c.vdis()) {
      known.add(v.uuid());
      SrTree.Node n = tree.node(v.uuid());
      if (n == null) {
        c.transaction(() -> c.deleteVdi(v.uuid()));
        report.add("forgot VDI " + v.uuid() + " (" + v.name() + "): its file is missing");
      } else if (n.hidden() && v.managed()) {
        c.transaction(
            () ->
                c.putVdi(
                    new Catalog.Vdi(
                        v.uuid(),
                        v.name(),
                        v.description(),
                        true,
                        v.snapshot(),
                        v.snapshotOf(),
                        false)));
        report.add("VDI " + v.uuid() + " is hidden: now a base copy");
      }
    }
    for (SrTree.Node n : tree.nodes().values()) {
      if (!known.contains(n.vdi())) {
        c.transaction(
            () ->
                c.putVdi(
                    new Catalog.Vdi(
                        n.vdi(),
                        n.hidden() ? "base copy" : n.vdi(),
                        "",
                        n.hidden(),
                        false,
                        null,
                        !n.hidden())));
        report.add("introduced VDI " + n.vdi() + (n.hidden() ? " (hidden base copy)" : ""));
      }
      if (n.problem() != null) {
        report.add("VDI " + n.vdi() + ": " + n.problem());
      } else if (n.differencing() && tree.parent(n.vdi()) == null) {
        report.add("VDI " + n.vdi() + ": parent " + n.parentFooterUuid() + " is not in the SR");
      }
    }
    return report;
  }

  /** Removes the journal records set aside as {@code .failed}; returns how many. */
  public static int clearFailed(StorageRepository sr) throws IOException {
    sr.requireWritable();
    return sr.clearFailedJournals();
  }

  /** One GC pass until nothing changes; returns what it did. */
  public static List<String> gc(StorageRepository sr) throws IOException {
    sr.requireWritable();
    List<String> report = new ArrayList<>();
    Catalog c = sr.catalog();
    boolean changed = true;
    while (changed) {
      changed = false;
      SrTree tree = SrTree.read(sr.dir());
      Set<String> used = new HashSet<>();
      for (Catalog.Vbd b : c.vbds()) {
        used.add(b.vdi());
      }
      for (SrTree.Node n : tree.nodes().values()) {
        if (n.hidden() && tree.children(n.vdi()).isEmpty() && !used.contains(n.vdi())) {
          c.transaction(() -> c.deleteVdi(n.vdi()));
          sr.provider().delete(sr.file(n.vdi()));
          report.add("deleted unused base copy " + n.vdi());
          changed = true;
        }
      }
      if (changed) {
        continue;
      }
      for (SrTree.Node n : tree.nodes().values()) {
        String parent = tree.parent(n.vdi());
        if (n.hidden()
            && !tree.children(n.vdi()).isEmpty()
            && parent != null
            && tree.children(parent).size() == 1) {
          Coalescer.Result r = Coalescer.coalesceSrBase(sr.provider(), sr.file(n.vdi()));
          c.transaction(() -> c.deleteVdi(n.vdi()));
          report.add(
              "coalesced base copy "
                  + n.vdi()
                  + " into "
                  + parent
                  + ", relinked "
                  + r.relinked().size()
                  + " child(ren)");
          changed = true;
          break;
        }
      }
    }
    return report;
  }
}
