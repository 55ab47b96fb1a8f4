package io.vdisk.engine.sr;

import io.vdisk.engine.ChangedBlocks;
import io.vdisk.engine.VirtualDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.roaringbitmap.RoaringBitmap;

/**
 * Changed-block tracking as XenServer's storage manager keeps it: a {@code <uuid>.cbtlog} per VDI
 * ({@link CbtLog}), the live VDI's log collecting writes since its last snapshot, each snapshot's
 * log the writes between the snapshot before it and itself, linked parent to child. {@code
 * vdi-data-destroy} removes a snapshot's data and keeps its log (xapi's {@code cbt_metadata} VDI),
 * so change lists still reach back to it.
 *
 * <p>A change list prefers the chains: when both VDIs still have their data, the layers below their
 * common base say exactly which sectors differ, with or without logs. Only a snapshot without data
 * needs the logs, and then every log on the way must be consistent.
 */
public final class Cbt {
  private Cbt() {}

  static Path log(StorageRepository sr, String vdi) {
    return CbtLog.file(sr.dir(), vdi);
  }

  public static boolean enabled(StorageRepository sr, String vdi) {
    return Files.exists(log(sr, vdi));
  }

  /** True for a snapshot whose data {@code vdi-data-destroy} removed: only its log is left. */
  public static boolean metadataOnly(StorageRepository sr, String vdi) {
    return !Files.exists(sr.file(vdi)) && enabled(sr, vdi);
  }

  /** {@code vdi-enable-cbt}: starts an empty log (a VDI that has one keeps it). */
  public static void enable(StorageRepository sr, String vdi) throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(vdi);
    if (!v.managed()) {
      throw new SrException(
          SrException.Kind.INVALID, "VDI " + vdi + " is a base copy; CBT is for VDIs");
    }
    if (enabled(sr, vdi)) {
      return;
    }
    try (SrLock l = sr.vdiLock(vdi, true, "vdi-enable-cbt")) {
      long size;
      try (io.vdisk.engine.DiskChain c = sr.chain(vdi, true)) {
        size = c.size();
      }
      CbtLog.empty(size).write(sr.provider(), log(sr, vdi));
    }
  }

  /** {@code vdi-disable-cbt}: the log goes; change lists through it need the chain again. */
  public static void disable(StorageRepository sr, String vdi) throws IOException {
    sr.requireWritable();
    sr.record(vdi);
    if (metadataOnly(sr, vdi)) {
      throw new SrException(
          SrException.Kind.INVALID,
          "VDI " + vdi + " holds only CBT metadata; vdi-destroy removes it");
    }
    try (SrLock l = sr.vdiLock(vdi, true, "vdi-disable-cbt")) {
      sr.provider().delete(log(sr, vdi));
    }
  }

  /**
   * {@code vdi-data-destroy}: a snapshot's data goes (its base copy becomes garbage for sr-gc), its
   * record and log stay.
   */
  public static void dataDestroy(StorageRepository sr, String vdi) throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(vdi);
    if (!v.snapshot()) {
      throw new SrException(
          SrException.Kind.INVALID, "VDI " + vdi + " is not a snapshot; only snapshots lose data");
    }
    if (!enabled(sr, vdi)) {
      throw new SrException(
          SrException.Kind.INVALID,
          "VDI " + vdi + " has no CBT log; without one vdi-destroy is what removes it");
    }
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vdi().equals(vdi)) {
        throw new SrException(SrException.Kind.IN_USE, "VDI " + vdi + " is in use by VM " + b.vm());
      }
    }
    if (!SrTree.read(sr.dir()).children(vdi).isEmpty()) {
      throw new SrException(
          SrException.Kind.IN_USE, "VDI " + vdi + " has children; its data is theirs too");
    }
    try (SrLock l = sr.vdiLock(vdi, true, "vdi-data-destroy")) {
      sr.provider().delete(sr.file(vdi));
    }
  }

  /**
   * After a snapshot {@code snap} of {@code vdi}: the VDI's log becomes the snapshot's (its child
   * the VDI), and the VDI starts an empty log whose parent is the snapshot. Idempotent, so a
   * journal replay finishes it; a step left undone only ever makes a list longer, never shorter.
   */
  static void snapshotted(StorageRepository sr, String vdi, String snap) throws IOException {
    Path live = log(sr, vdi);
    Path taken = log(sr, snap);
    if (!Files.exists(live)) {
      return;
    }
    CbtLog l = CbtLog.read(sr.provider(), live);
    UUID snapId = UUID.fromString(snap);
    if (l.parent.equals(snapId)) {
      return; // done
    }
    if (!Files.exists(taken)) {
      CbtLog s = new CbtLog(l.parent, UUID.fromString(vdi), true, l.size, l.bitmap);
      s.write(sr.provider(), taken);
    }
    if (!l.parent.equals(CbtLog.NIL) && enabled(sr, l.parent.toString())) {
      relinkChild(sr, l.parent.toString(), snapId);
    }
    CbtLog fresh = CbtLog.empty(l.size);
    fresh.parent = snapId;
    fresh.write(sr.provider(), live);
  }

  private static void relinkChild(StorageRepository sr, String vdi, UUID child) throws IOException {
    CbtLog p = CbtLog.read(sr.provider(), log(sr, vdi));
    if (!p.child.equals(child)) {
      p.child = child;
      p.write(sr.provider(), log(sr, vdi));
    }
  }

  /**
   * Before a VDI with a log is destroyed: its bits join its child's log, which takes its parent
   * ({@code cbt-util coalesce}), so lists across it stay whole. Idempotent.
   */
  static void destroying(StorageRepository sr, String vdi) throws IOException {
    Path own = log(sr, vdi);
    if (!Files.exists(own)) {
      return;
    }
    CbtLog l = CbtLog.read(sr.provider(), own);
    String child = l.child.toString();
    if (!l.child.equals(CbtLog.NIL) && enabled(sr, child)) {
      CbtLog c = CbtLog.read(sr.provider(), log(sr, child));
      c.or(l);
      c.consistent &= l.consistent;
      c.parent = l.parent;
      c.write(sr.provider(), log(sr, child));
      if (!l.parent.equals(CbtLog.NIL) && enabled(sr, l.parent.toString())) {
        relinkChild(sr, l.parent.toString(), l.child);
      }
    }
    sr.provider().delete(own);
  }

  /** Work on logs and files that {@link #guarded} undoes when it fails. */
  @FunctionalInterface
  interface Work {
    void run() throws IOException;
  }

  /**
   * Runs {@code work}, and when it fails puts the logs of {@code vdis} back as they were (a log
   * that did not exist is removed again): a verb that fails leaves the logs as it found them. A
   * crash instead leaves the work to the journal's replay, whose steps only ever lengthen lists.
   */
  static void guarded(StorageRepository sr, List<String> vdis, Work work) throws IOException {
    Map<String, byte[]> saved = new HashMap<>();
    for (String v : vdis) {
      if (v != null && !v.equals(CbtLog.NIL.toString())) {
        Path f = log(sr, v);
        saved.put(v, Files.exists(f) ? Files.readAllBytes(f) : null);
      }
    }
    try {
      work.run();
    } catch (IOException | RuntimeException | Error e) {
      try {
        for (Map.Entry<String, byte[]> x : saved.entrySet()) {
          Path f = log(sr, x.getKey());
          if (x.getValue() == null) {
            sr.provider().delete(f);
          } else if (!Files.exists(f) || !Arrays.equals(Files.readAllBytes(f), x.getValue())) {
            sr.provider().writeAtomically(f, x.getValue());
          }
        }
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The VDIs whose logs {@link #snapshotted} or {@link #destroying} of {@code vdi} touch. */
  static List<String> neighbours(StorageRepository sr, String vdi) throws IOException {
    List<String> out = new ArrayList<>(List.of(vdi));
    if (enabled(sr, vdi)) {
      CbtLog l = CbtLog.read(sr.provider(), log(sr, vdi));
      out.add(l.parent.toString());
      out.add(l.child.toString());
    }
    return out;
  }

  /** Before the VDI grows to {@code size}: its log covers the new blocks, unmarked. */
  static void resizing(StorageRepository sr, String vdi, long size) throws IOException {
    if (enabled(sr, vdi)) {
      CbtLog l = CbtLog.read(sr.provider(), log(sr, vdi));
      if (l.size < size) {
        l.grow(size);
        l.write(sr.provider(), log(sr, vdi));
      }
    }
  }

  /** Before the VDI's contents are replaced whole: every block changed. */
  static void replacing(StorageRepository sr, String vdi, long size) throws IOException {
    if (enabled(sr, vdi)) {
      CbtLog l = CbtLog.read(sr.provider(), log(sr, vdi));
      l.grow(size);
      l.markAll();
      l.write(sr.provider(), log(sr, vdi));
    }
  }

  /** The tracker of a VDI opened for writing, or null when it has no log. */
  static CbtLog.Tracker track(StorageRepository sr, String vdi, long size) throws IOException {
    return enabled(sr, vdi) ? new CbtLog.Tracker(sr.provider(), log(sr, vdi), size) : null;
  }

  /**
   * {@code vdi-list-changed-blocks}: where {@code to} may differ from {@code from}. From the chains
   * when both VDIs have their data; else from the logs linking them.
   */
  public static ChangedBlocks changed(StorageRepository sr, String from, String to)
      throws IOException {
    Catalog.Vdi f = sr.record(from);
    Catalog.Vdi t = sr.record(to);
    if (!f.managed() || !t.managed()) {
      throw new SrException(
          SrException.Kind.INVALID, "base copies have no changed blocks; name snapshots or VDIs");
    }
    if (Files.exists(sr.file(from)) && Files.exists(sr.file(to))) {
      try (VirtualDisk a = sr.openVdi(from, true, "vdi-list-changed-blocks");
          VirtualDisk b = sr.openVdi(to, true, "vdi-list-changed-blocks")) {
        return changed(sr, from, to, ((LockedDisk) a).chain(), ((LockedDisk) b).chain());
      }
    }
    return fromLogs(sr, from, to);
  }

  /**
   * As {@link #changed(StorageRepository, String, String)} for disks the caller holds open ({@code
   * to} may be open for writing): their chains when they share a base, else the logs.
   */
  public static ChangedBlocks changed(
      StorageRepository sr, String from, String to, VirtualDisk fromDisk, VirtualDisk toDisk)
      throws IOException {
    if (fromDisk != null && toDisk != null) {
      try {
        return ChangedBlocks.between(chainOf(fromDisk), chainOf(toDisk));
      } catch (IllegalArgumentException noCommonBase) {
        if (!enabled(sr, from) || !enabled(sr, to)) {
          throw new SrException(
              SrException.Kind.INVALID,
              "VDIs " + from + " and " + to + " share no base image and have no CBT logs");
        }
      }
    }
    return fromLogs(sr, from, to);
  }

  private static io.vdisk.engine.DiskChain chainOf(VirtualDisk d) {
    if (d instanceof io.vdisk.engine.DiskChain c) {
      return c;
    }
    return ((LockedDisk) d).chain();
  }

  private static ChangedBlocks fromLogs(StorageRepository sr, String from, String to)
      throws IOException {
    for (String v : new String[] {from, to}) {
      if (!enabled(sr, v)) {
        throw new SrException(
            SrException.Kind.INVALID,
            "VDI " + v + " has no data and no CBT log: its changed blocks are unknown");
      }
    }
    ChangedBlocks c = walk(sr, from, to);
    if (c == null) {
      c = walk(sr, to, from);
    }
    if (c != null && Files.exists(sr.file(to))) {
      SrTree.Node n = SrTree.read(sr.dir()).node(to);
      if (n != null && n.virtualSize() > c.size()) {
        // the VDI grew after its log last saw a writer: the new space counts as changed
        c = ChangedBlocks.ofBlocks(n.virtualSize(), c.fromSize(), c.blocks());
      }
    }
    if (c == null) {
      throw new SrException(
          SrException.Kind.INVALID,
          "the CBT logs of "
              + from
              + " and "
              + to
              + " are not of one chain (vdi-list-changed-blocks"
              + " takes a snapshot and a later snapshot or the VDI itself)");
    }
    return c;
  }

  /**
   * ORs the logs after {@code older} up to {@code newer}, or null if the chain never gets there.
   */
  private static ChangedBlocks walk(StorageRepository sr, String older, String newer)
      throws IOException {
    CbtLog start = CbtLog.read(sr.provider(), log(sr, older));
    requireConsistent(older, start);
    RoaringBitmap blocks = new RoaringBitmap();
    long size = start.size;
    Set<UUID> seen = new HashSet<>();
    UUID next = start.child;
    while (!next.equals(CbtLog.NIL) && seen.add(next) && enabled(sr, next.toString())) {
      CbtLog l = CbtLog.read(sr.provider(), log(sr, next.toString()));
      requireConsistent(next.toString(), l);
      blocks.or(l.blocks());
      size = Math.max(size, l.size);
      if (next.toString().equals(newer)) {
        return ChangedBlocks.ofBlocks(size, start.size, blocks);
      }
      next = l.child;
    }
    return null;
  }

  private static void requireConsistent(String vdi, CbtLog l) throws SrException {
    if (!l.consistent) {
      throw new SrException(
          SrException.Kind.INVALID,
          "the CBT log of VDI "
              + vdi
              + " is inconsistent (a writer stopped without closing it): its changes are"
              + " unknown, take a full backup (vdi-disable-cbt, vdi-enable-cbt start afresh)");
    }
  }
}
