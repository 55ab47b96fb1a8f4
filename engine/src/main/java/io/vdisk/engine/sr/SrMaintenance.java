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
      // A VDI whose data vdi-data-destroy removed keeps its row for its CBT log (cbt_metadata).
      if (n == null && !Cbt.metadataOnly(sr, v.uuid())) {
        c.transaction(() -> c.deleteVdi(v.uuid()));
        report.add("forgot VDI " + v.uuid() + " (" + v.name() + "): its file is missing");
      } else if (n != null && n.hidden() && v.managed()) {
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

  /**
   * One GC pass until nothing changes; returns what it did. Before it deletes or coalesces a base
   * it takes, without waiting, the write lock of every VDI whose reads go through it (the base and
   * everything below the file it changes): a reader or writer on any host keeps the base as it is,
   * and the base is skipped, with a line naming the holder, until a later pass. The SR's own lock,
   * held by the caller, keeps one GC per SR across a pool.
   */
  public static List<String> gc(StorageRepository sr) throws IOException {
    sr.requireWritable();
    List<String> report = new ArrayList<>();
    Set<String> skipped = new HashSet<>();
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
        if (n.hidden()
            && tree.children(n.vdi()).isEmpty()
            && !used.contains(n.vdi())
            && !skipped.contains(n.vdi())) {
          try (Held h = hold(sr, List.of(n.vdi()))) {
            if (h.refusal != null) {
              skipped.add(n.vdi());
              report.add("skipped unused base copy " + n.vdi() + ": " + h.refusal);
              continue;
            }
            c.transaction(() -> c.deleteVdi(n.vdi()));
            sr.provider().delete(sr.file(n.vdi()));
          }
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
            && tree.children(parent).size() == 1
            && !skipped.contains(n.vdi())) {
          Coalescer.Result r;
          try (Held h = hold(sr, subtree(tree, parent))) {
            if (h.refusal != null) {
              skipped.add(n.vdi());
              report.add("skipped base copy " + n.vdi() + ": " + h.refusal);
              continue;
            }
            r = Coalescer.coalesceSrBase(sr.provider(), sr.file(n.vdi()));
            c.transaction(() -> c.deleteVdi(n.vdi()));
          }
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

  /** {@code top} and every file below it. */
  private static List<String> subtree(SrTree tree, String top) {
    List<String> out = new ArrayList<>();
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(top));
    while (!todo.isEmpty() && out.size() <= tree.nodes().size()) {
      String v = todo.pop();
      out.add(v);
      todo.addAll(tree.children(v));
    }
    return out;
  }

  /** The write locks of some VDIs, all or none: {@code refusal} says who holds one. */
  private static final class Held implements AutoCloseable {
    private final List<SrLock> locks = new ArrayList<>();
    private String refusal;

    @Override
    public void close() throws IOException {
      IOException first = null;
      for (SrLock l : locks) {
        try {
          l.close();
        } catch (IOException e) {
          first = first == null ? e : first;
        }
      }
      if (first != null) {
        throw first;
      }
    }
  }

  private static Held hold(StorageRepository sr, List<String> vdis) throws IOException {
    Held h = new Held();
    try {
      for (String v : vdis) {
        SrLock l = SrLock.tryTake(sr.vdiLockFile(v), true, "sr-gc");
        if (l == null) {
          h.refusal =
              "VDI " + v + " is " + io.vdisk.engine.io.WholeFileLock.holders(sr.vdiLockFile(v));
          break;
        }
        h.locks.add(l);
      }
      return h;
    } catch (IOException | RuntimeException e) {
      h.close();
      throw e;
    }
  }
}
