package io.vdisk.engine.sr;

import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Resizer;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The VDI verbs of an SR, and the idempotent steps of their journaled operations ({@link SrOp}).
 *
 * <p>Snapshot and clone work as XenServer's {@code FileVDI._snapshot}: the VDI's file is hard-
 * linked to a new hidden base copy, a new empty leaf over that base replaces the VDI's file (the
 * VDI keeps its UUID), and another leaf over the base is the snapshot or clone. A VDI whose leaf
 * holds no data is not split again: the new leaf goes on its first ancestor that holds data, as
 * {@code vhd-util snapshot} does, so cloning an unchanged template adds no depth.
 */
public final class Vdis {
  private Vdis() {}

  public static String create(StorageRepository sr, String name, String description, long size)
      throws IOException {
    sr.requireWritable();
    VhdCreator.validateSize(size);
    String uuid = UUID.randomUUID().toString();
    sr.journaled(new SrOp.VdiCreate(uuid, name, description, size));
    return uuid;
  }

  static void applyCreate(StorageRepository sr, SrOp.VdiCreate op) throws IOException {
    if (!Files.exists(sr.file(op.vdi()))) {
      VhdCreator.createDynamic(
          sr.provider(), sr.file(op.vdi()), VhdCreator.Spec.dynamic(op.size()));
    }
    sr.catalog()
        .transaction(
            () ->
                sr.catalog()
                    .putVdi(
                        new Catalog.Vdi(
                            op.vdi(), op.name(), op.description(), false, false, null, true)));
  }

  /** Undoes a VDI that an operation was making: its file goes, unless the catalog has its row. */
  static void forgetNew(StorageRepository sr, String vdi) throws IOException {
    if (sr.catalog().vdi(vdi).isEmpty()) {
      sr.provider().delete(sr.file(vdi));
    }
  }

  public static void setParams(StorageRepository sr, String uuid, Map<String, String> params)
      throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(uuid);
    String name = params.getOrDefault("name-label", v.name());
    String desc = params.getOrDefault("name-description", v.description());
    boolean ro =
        params.containsKey("read-only")
            ? Boolean.parseBoolean(params.get("read-only"))
            : v.readOnly();
    sr.catalog()
        .transaction(
            () ->
                sr.catalog()
                    .putVdi(
                        new Catalog.Vdi(
                            uuid, name, desc, ro, v.snapshot(), v.snapshotOf(), v.managed())));
  }

  /**
   * vdi-introduce: a record for a {@code <uuid>.vhd} the SR holds and the catalog does not know
   * (copied in by hand, or forgotten); a hidden file becomes a base copy, as sr-scan does it.
   */
  public static void introduce(StorageRepository sr, String uuid, String name, String description)
      throws IOException {
    sr.requireWritable();
    if (sr.catalog().vdi(uuid).isPresent()) {
      throw new SrException(SrException.Kind.INVALID, "VDI " + uuid + " is already in the catalog");
    }
    SrTree.Node n = SrTree.read(sr.dir()).node(uuid);
    if (n == null) {
      throw new SrException(
          SrException.Kind.NOT_FOUND, "the SR holds no file " + uuid + ".vhd to introduce");
    }
    if (n.problem() != null) {
      throw new SrException(SrException.Kind.INVALID, uuid + ".vhd: " + n.problem());
    }
    String label = name != null ? name : n.hidden() ? "base copy" : uuid;
    sr.catalog()
        .transaction(
            () ->
                sr.catalog()
                    .putVdi(
                        new Catalog.Vdi(
                            uuid,
                            label,
                            description == null ? "" : description,
                            n.hidden(),
                            false,
                            null,
                            !n.hidden())));
  }

  /**
   * vdi-forget: the VDI's record goes, its file stays (the next sr-scan or vdi-introduce brings it
   * back); refused while a VM uses it.
   */
  public static void forget(StorageRepository sr, String uuid) throws IOException {
    sr.requireWritable();
    sr.record(uuid);
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vdi().equals(uuid)) {
        throw new SrException(
            SrException.Kind.IN_USE,
            "VDI " + uuid + " is in use by VM " + b.vm() + " (" + b.device() + ")");
      }
    }
    sr.catalog().transaction(() -> sr.catalog().deleteVdi(uuid));
  }

  /** vdi-snapshot: a read-only point-in-time copy; returns its UUID. */
  public static String snapshot(StorageRepository sr, String uuid) throws IOException {
    return snapshotOrClone(sr, uuid, true, UUID.randomUUID().toString(), null);
  }

  /** vdi-clone: a writable copy-on-write copy; returns its UUID. */
  public static String clone(StorageRepository sr, String uuid) throws IOException {
    return snapshotOrClone(sr, uuid, false, UUID.randomUUID().toString(), null);
  }

  static String snapshotOrClone(
      StorageRepository sr, String uuid, boolean snapshot, String newUuid, String name)
      throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(uuid);
    if (!v.managed()) {
      throw new SrException(
          SrException.Kind.INVALID, "VDI " + uuid + " is a hidden base copy; snapshot a leaf");
    }
    // Only this VDI's chain is read when its locators lead through the SR (a clone in an SR of
    // 1000 VDIs costs what it costs in one of 10); otherwise the whole tree, by UUID.
    SrTree tree = SrTree.readChain(sr.dir(), uuid);
    if (tree == null) {
      tree = SrTree.read(sr.dir());
    }
    if (tree.node(uuid) == null) {
      throw new SrException(SrException.Kind.NOT_FOUND, "VDI " + uuid + ": file missing");
    }
    String anchor = uuid;
    while (tree.node(anchor).allocatedBlocks() == 0 && tree.parent(anchor) != null) {
      anchor = tree.parent(anchor);
    }
    if (tree.depth(anchor) >= StorageRepository.MAX_CHAIN) {
      throw new SrException(
          SrException.Kind.INVALID,
          "VDI "
              + uuid
              + ": chain is "
              + tree.depth(anchor)
              + " deep; XenServer's limit is "
              + StorageRepository.MAX_CHAIN
              + " (vdi-copy flattens it)");
    }
    String label = name != null ? name : v.name() + (snapshot ? " (snapshot)" : " (clone)");
    // The VDI's lock before the journal: a refused request must leave nothing to finish later.
    try (SrLock l = sr.vdiLock(uuid, true, snapshot ? "vdi-snapshot" : "vdi-clone")) {
      if (anchor.equals(uuid)) {
        sr.journaled(
            new SrOp.VdiSnapshot(
                uuid, UUID.randomUUID().toString(), newUuid, snapshot, label, v.description()));
      } else {
        sr.journaled(new SrOp.VdiLink(uuid, anchor, newUuid, snapshot, label, v.description()));
      }
    }
    return newUuid;
  }

  /** Idempotent steps of a split snapshot (see the class comment). */
  static void applySnapshot(StorageRepository sr, SrOp.VdiSnapshot op) throws IOException {
    StorageProvider p = sr.provider();
    Path vdi = sr.file(op.vdi());
    Path base = sr.file(op.base());
    if (!Files.exists(base)) {
      p.link(base, vdi);
    }
    if (!leafIsChildOf(sr, op.vdi(), op.base())) {
      Publisher.publish(
          p,
          vdi,
          "snapshot",
          true,
          tmp -> {
            Snapshots.createChild(p, base, tmp);
            return null;
          });
    }
    if (!Files.exists(sr.file(op.neu()))) {
      Snapshots.createChild(p, base, sr.file(op.neu()));
    }
    try (VhdImage b = VhdImage.open(p.open(base, false), false)) {
      if (!b.footer().isHidden()) {
        b.setHidden(true);
      }
    }
    recordNewLeaf(
        sr,
        op.vdi(),
        op.neu(),
        op.snapshot(),
        op.name(),
        op.description(),
        () ->
            sr.catalog()
                .putVdi(new Catalog.Vdi(op.base(), "base copy", "", true, false, null, false)));
  }

  /**
   * Undoes a split that failed before its catalog rows, as XenServer's {@code _clonecleanup}: the
   * new leaf goes; when the VDI's name already holds the empty child, the original bytes (the base,
   * unhidden) are renamed back over it; else the base is only an extra link, removed.
   */
  static void undoSnapshot(StorageRepository sr, SrOp.VdiSnapshot op) throws IOException {
    if (sr.catalog().vdi(op.neu()).isPresent()) {
      return; // it completed
    }
    Cbt.destroying(sr, op.neu()); // its bits back into the VDI's log
    StorageProvider p = sr.provider();
    p.delete(sr.file(op.neu()));
    Path base = sr.file(op.base());
    if (Files.exists(base)) {
      if (leafIsChildOf(sr, op.vdi(), op.base())) {
        try (VhdImage b = VhdImage.open(p.open(base, false), false)) {
          if (b.footer().isHidden()) {
            b.setHidden(false);
          }
        }
        p.move(base, sr.file(op.vdi()));
      } else {
        p.delete(base);
      }
    }
    sr.catalog().transaction(() -> sr.catalog().deleteVdi(op.base()));
  }

  private static boolean leafIsChildOf(StorageRepository sr, String vdi, String base)
      throws IOException {
    UUID baseFooter;
    try (VhdImage b =
        VhdImage.open(sr.provider().open(sr.file(base), StorageProvider.Access.PEEK), true)) {
      baseFooter = b.footer().uniqueId();
    }
    try (VhdImage l =
        VhdImage.open(sr.provider().open(sr.file(vdi), StorageProvider.Access.PEEK), true)) {
      return l.isDifferencing() && l.header().parentUuid().equals(baseFooter);
    }
  }

  /** A new leaf on an existing ancestor (the no-new-depth case). */
  static void applyLink(StorageRepository sr, SrOp.VdiLink op) throws IOException {
    if (!Files.exists(sr.file(op.neu()))) {
      Snapshots.createChild(sr.provider(), sr.file(op.parent()), sr.file(op.neu()));
    }
    recordNewLeaf(sr, op.vdi(), op.neu(), op.snapshot(), op.name(), op.description(), () -> {});
  }

  /** Undoes a snapshot or clone whose new leaf has no row yet: its file and log go. */
  static void undoLink(StorageRepository sr, SrOp.VdiLink op) throws IOException {
    if (sr.catalog().vdi(op.neu()).isEmpty()) {
      Cbt.destroying(sr, op.neu());
    }
    forgetNew(sr, op.neu());
  }

  /**
   * The last steps of a snapshot or clone, undone together if they fail: a snapshot's CBT log
   * rotation, then in one transaction {@code rows} and the new leaf's row.
   */
  private static void recordNewLeaf(
      StorageRepository sr,
      String vdi,
      String neu,
      boolean snapshot,
      String name,
      String description,
      Catalog.Work rows)
      throws IOException {
    Cbt.guarded(
        sr,
        Cbt.neighbours(sr, vdi),
        () -> {
          if (snapshot) {
            Cbt.snapshotted(sr, vdi, neu);
          }
          sr.catalog()
              .transaction(
                  () -> {
                    rows.run();
                    putNewLeaf(sr, vdi, neu, snapshot, name, description);
                  });
        });
  }

  /** The catalog row of a new leaf made by a snapshot or clone. */
  private static void putNewLeaf(
      StorageRepository sr,
      String of,
      String neu,
      boolean snapshot,
      String name,
      String description)
      throws java.sql.SQLException {
    sr.catalog()
        .putVdi(
            new Catalog.Vdi(
                neu, name, description, snapshot, snapshot, snapshot ? of : null, true));
  }

  /** vdi-copy: the chain flattened into a new standalone VDI, visible only when complete. */
  public static String copy(StorageRepository sr, String uuid, String name) throws IOException {
    return copy(sr, uuid, name, UUID.randomUUID().toString());
  }

  static String copy(StorageRepository sr, String uuid, String name, String newUuid)
      throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(uuid);
    try (SrLock l = sr.vdiLock(uuid, false, "vdi-copy")) {
      sr.journaled(
          new SrOp.VdiCopy(uuid, newUuid, name != null ? name : v.name(), v.description()));
    }
    return newUuid;
  }

  static void applyCopy(StorageRepository sr, SrOp.VdiCopy op) throws IOException {
    if (!Files.exists(sr.file(op.neu()))) {
      try (DiskChain src = sr.chain(op.vdi(), true)) {
        Converter.convert(
            sr.provider(), src, sr.file(op.neu()), Converter.Target.VHD, sr.progress());
      }
    }
    sr.catalog()
        .transaction(
            () ->
                sr.catalog()
                    .putVdi(
                        new Catalog.Vdi(
                            op.neu(), op.name(), op.description(), false, false, null, true)));
  }

  /** vdi-destroy: refused while a VM uses the VDI or for a base copy with children. */
  public static void destroy(StorageRepository sr, String uuid) throws IOException {
    sr.requireWritable();
    Catalog.Vdi v = sr.record(uuid);
    for (Catalog.Vbd b : sr.catalog().vbds()) {
      if (b.vdi().equals(uuid)) {
        throw new SrException(
            SrException.Kind.IN_USE,
            "VDI "
                + uuid
                + " is in use by VM "
                + b.vm()
                + " ("
                + b.device()
                + "); destroy the VBD or the VM first");
      }
    }
    if (!SrTree.read(sr.dir()).children(uuid).isEmpty()) {
      throw new SrException(
          SrException.Kind.IN_USE,
          "VDI " + uuid + " (" + v.name() + ") has children; it is removed by sr-gc when unused");
    }
    try (SrLock l = sr.vdiLock(uuid, true, "vdi-destroy")) {
      sr.journaled(new SrOp.VdiDestroy(uuid, v));
    }
  }

  /** The file first, then the row: a failed file removal leaves the VDI whole. */
  static void applyDestroy(StorageRepository sr, SrOp.VdiDestroy op) throws IOException {
    Cbt.guarded(
        sr,
        Cbt.neighbours(sr, op.vdi()),
        () -> {
          Cbt.destroying(sr, op.vdi());
          sr.provider().delete(sr.file(op.vdi()));
        });
    sr.catalog().transaction(() -> sr.catalog().deleteVdi(op.vdi()));
  }

  /**
   * A destroy whose file (and CBT log) is gone is finished (its data is gone); else its row is put
   * back.
   */
  static void undoDestroy(StorageRepository sr, SrOp.VdiDestroy op) throws IOException {
    // A CBT log goes before the file (Cbt.destroying): a log left means the destroy did not happen.
    if (!Files.exists(sr.file(op.vdi())) && !Cbt.enabled(sr, op.vdi())) {
      sr.catalog().transaction(() -> sr.catalog().deleteVdi(op.vdi()));
    } else if (op.row() != null && sr.catalog().vdi(op.vdi()).isEmpty()) {
      sr.catalog().transaction(() -> sr.catalog().putVdi(op.row()));
    }
  }

  public static void resize(StorageRepository sr, String uuid, long size) throws IOException {
    sr.requireWritable();
    sr.requireWritableVdi(uuid);
    // The VDI's lock, not an open chain: the resize opens (or rewrites) the file itself.
    try (SrLock l = sr.vdiLock(uuid, true, "vdi-resize")) {
      long current;
      try (DiskChain c = sr.chain(uuid, true)) {
        current = c.size();
      }
      if (size < current) {
        throw new SrException(
            SrException.Kind.INVALID,
            "VDI "
                + uuid
                + ": disk-size "
                + size
                + " is smaller than "
                + current
                + "; VDIs only grow");
      }
      Cbt.guarded(
          sr,
          List.of(uuid),
          () -> {
            Cbt.resizing(sr, uuid, size);
            Resizer.resize(sr.provider(), sr.file(uuid), size, false, WriteRule.Grant.CHECKED);
          });
    }
  }
}
