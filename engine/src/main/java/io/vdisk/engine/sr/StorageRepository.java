package io.vdisk.engine.sr;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.io.StorageProvider;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A storage repository as XenServer lays out a file SR: {@code <vdi-uuid>.vhd} files, plus {@code
 * sr.db} (the catalog), {@code sr.lock}, {@code locks/} and {@code journal/}. Opening it for
 * changes takes the SR lock exclusively (waiting for it, see {@link io.vdisk.engine.io.LockWait})
 * and first finishes whatever a crashed command left in the journal. Opening it to read takes no SR
 * lock: the catalog's own locks keep each read consistent, and what a reader then uses of a VDI (an
 * export, a mount) it holds by that VDI's lock, so a long export never holds up a pool's snapshots
 * and clones.
 *
 * <p>Snapshot and clone work as XenServer's {@code FileVDI._snapshot}: the VDI's file is hard-
 * linked to a new hidden base copy, a new empty leaf over that base replaces the VDI's file (the
 * VDI keeps its UUID), and another leaf over the base is the snapshot or clone. A VDI whose leaf
 * holds no data is not split again: the new leaf goes on its first ancestor that holds data, as
 * {@code vhd-util snapshot} does, so cloning an unchanged template adds no depth.
 */
public final class StorageRepository implements Closeable {
  /** XenServer's {@code MAX_CHAIN_SIZE}: deeper snapshots are refused. */
  public static final int MAX_CHAIN = 30;

  private final Path dir;
  private final StorageProvider provider;
  private final SrLock lock; // null when opened to read
  private final Catalog catalog;
  private final SrJournal journal;
  private final boolean writable;
  private final List<String> warnings = new ArrayList<>();
  private io.vdisk.engine.Progress progress = io.vdisk.engine.Progress.NONE;

  private StorageRepository(
      Path dir, StorageProvider provider, SrLock lock, Catalog catalog, boolean writable) {
    this.dir = dir;
    this.provider = provider;
    this.lock = lock;
    this.catalog = catalog;
    this.journal = new SrJournal(provider, dir.resolve("journal"));
    this.writable = writable;
  }

  /** The catalog's file: a directory is an SR when it holds one. */
  static final String CATALOG = "sr.db";

  /**
   * Opens the existing SR in {@code dir}; a directory that is not an SR is refused (exit 6), so a
   * mistyped path never becomes a new empty SR. With {@code forChanges} the SR lock is taken
   * exclusively and interrupted operations are finished first; otherwise no SR lock is taken.
   */
  public static StorageRepository open(Path dir, boolean forChanges, String purpose)
      throws IOException {
    return open(dir, forChanges, purpose, StorageProvider.FILES);
  }

  /**
   * Makes {@code dir} an SR if it is not one yet (the directory may already hold a XenServer file
   * SR's {@code <uuid>.vhd} files: {@code sr-scan} then introduces them) and opens it for changes.
   */
  public static StorageRepository create(Path dir, String purpose) throws IOException {
    return create(dir, purpose, StorageProvider.FILES);
  }

  static StorageRepository create(Path dir, String purpose, StorageProvider provider)
      throws IOException {
    Path d = Files.createDirectories(dir).toAbsolutePath().normalize();
    return openAt(d, true, purpose, provider);
  }

  /** True when {@code dir} holds an SR's catalog. */
  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(CATALOG));
  }

  static StorageRepository open(
      Path dir, boolean forChanges, String purpose, StorageProvider provider) throws IOException {
    Path d = dir.toAbsolutePath().normalize();
    if (!exists(d)) {
      throw new SrException(
          SrException.Kind.NOT_FOUND,
          "no SR at "
              + d
              + (Files.isDirectory(d)
                  ? " (the directory has no " + CATALOG + ")"
                  : " (no such directory)")
              + "; sr-create makes one there");
    }
    return openAt(d, forChanges, purpose, provider);
  }

  private static StorageRepository openAt(
      Path d, boolean forChanges, String purpose, StorageProvider provider) throws IOException {
    requireSafeMount(d, forChanges);
    SrLock lock = forChanges ? SrLock.take(d.resolve("sr.lock"), true, "SR " + d, purpose) : null;
    try {
      Catalog catalog = Catalog.open(d.resolve(CATALOG), !forChanges);
      StorageRepository sr = new StorageRepository(d, provider, lock, catalog, forChanges);
      if (forChanges) {
        sr.recover();
        sr.ensureIdentity();
      }
      return sr;
    } catch (IOException | RuntimeException e) {
      if (lock != null) {
        lock.close();
      }
      throw e;
    }
  }

  public Path dir() {
    return dir;
  }

  /**
   * Where long work of this SR's verbs (copies, imports, exports) reports its progress: bytes of
   * the virtual disks done of the total. Recovery of a dead command's work reports nothing.
   */
  public void setProgress(io.vdisk.engine.Progress progress) {
    this.progress = progress == null ? io.vdisk.engine.Progress.NONE : progress;
  }

  io.vdisk.engine.Progress progress() {
    return progress;
  }

  // ---- the SR's own record ------------------------------------------------------------------

  /** What sr-list shows of the SR, with xe's field meanings for a file SR. */
  public record SrView(
      String uuid,
      String name,
      String description,
      Path location,
      long physicalSize,
      long physicalUtilisation,
      long virtualAllocation) {}

  /**
   * Gives an SR made before SRs had a record its UUID and name, once, at the first open for
   * changes: a directory named by a UUID (XenServer mounts a file SR at {@code
   * /var/run/sr-mount/<sr-uuid>}) keeps that UUID.
   */
  private void ensureIdentity() throws IOException {
    if (catalog.srField("uuid") != null && catalog.srField("name-label") != null) {
      return;
    }
    String base = dir.getFileName() == null ? "/" : dir.getFileName().toString();
    String uuid =
        isUuid(base) ? base.toLowerCase(java.util.Locale.ROOT) : UUID.randomUUID().toString();
    catalog.transaction(
        () -> {
          catalog.putSrField("uuid", uuid, true);
          catalog.putSrField("name-label", base, true);
          catalog.putSrField("name-description", "", true);
        });
  }

  private static boolean isUuid(String s) {
    return s.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  }

  /**
   * The SR's UUID; an SR made by an earlier version and never opened for changes since has none yet
   * (null).
   */
  public String uuid() throws IOException {
    return catalog.srField("uuid");
  }

  /** The SR's record: name, and the file system's size and use as a file SR reports them. */
  public SrView view() throws IOException {
    java.nio.file.FileStore store = Files.getFileStore(dir);
    long virtual = 0;
    for (VdiView v : vdis()) {
      if (v.managed()) {
        virtual += v.virtualSize();
      }
    }
    String description = catalog.srField("name-description");
    return new SrView(
        uuid(),
        catalog.srField("name-label"),
        description == null ? "" : description,
        dir,
        store.getTotalSpace(),
        store.getTotalSpace() - store.getUnallocatedSpace(),
        virtual);
  }

  /** sr-param-set / sr-create: the SR's name-label and name-description. */
  public void setNames(String name, String description) throws IOException {
    requireWritable();
    catalog.transaction(
        () -> {
          if (name != null) {
            catalog.putSrField("name-label", name, false);
          }
          if (description != null) {
            catalog.putSrField("name-description", description, false);
          }
        });
  }

  /**
   * Refuses a verb given {@code sr-uuid=} (or sr-scan's {@code uuid=}) of another SR than the one
   * it opened: a script aimed at one SR must never change another.
   */
  public void requireUuid(String expected) throws IOException {
    String mine = uuid();
    if (!expected.equalsIgnoreCase(String.valueOf(mine))) {
      throw new SrException(
          SrException.Kind.NOT_FOUND,
          "SR "
              + dir
              + " has uuid "
              + (mine == null ? "<none yet: open it for a change first>" : mine)
              + ", not "
              + io.vdisk.engine.io.Printable.of(expected)
              + " (--sr or $VDISK_SR names the SR)");
    }
  }

  Path file(String vdi) {
    return dir.resolve(vdi + ".vhd");
  }

  Catalog catalog() {
    return catalog;
  }

  StorageProvider provider() {
    return provider;
  }

  void requireWritable() throws SrException {
    if (!writable) {
      throw new IllegalStateException("SR opened read-only");
    }
  }

  // ---- VDIs ---------------------------------------------------------------------------------

  /** What vdi-list shows of one VDI. */
  public record VdiView(
      String uuid,
      String name,
      String description,
      long virtualSize,
      long physicalSize,
      int depth,
      String parent,
      boolean readOnly,
      boolean snapshot,
      boolean managed,
      boolean hidden,
      List<String> vms,
      String problem,
      boolean cbtEnabled,
      String type,
      List<String> vbds,
      String snapshotOf,
      java.time.Instant created) {}

  public List<VdiView> vdis() throws IOException {
    SrTree tree = SrTree.read(dir);
    List<Catalog.Vbd> vbds = catalog.vbds();
    java.util.Set<String> templateDisks = templateDisks(vbds);
    List<VdiView> out = new ArrayList<>();
    for (Catalog.Vdi v : catalog.vdis()) {
      SrTree.Node n = tree.node(v.uuid());
      List<String> vms = new ArrayList<>();
      List<String> vbdUuids = new ArrayList<>();
      for (Catalog.Vbd b : vbds) {
        if (b.vdi().equals(v.uuid())) {
          vms.add(b.vm());
          vbdUuids.add(b.uuid());
        }
      }
      boolean cbt = Cbt.enabled(this, v.uuid());
      boolean metadataOnly = n == null && cbt;
      long virtualSize = n == null ? 0 : n.virtualSize();
      if (metadataOnly) {
        virtualSize = CbtLog.read(provider, Cbt.log(this, v.uuid())).size;
      }
      out.add(
          new VdiView(
              v.uuid(),
              v.name(),
              v.description(),
              virtualSize,
              n == null ? 0 : n.physicalSize(),
              n == null ? 0 : tree.depth(v.uuid()),
              tree.parent(v.uuid()),
              v.readOnly() || templateDisks.contains(v.uuid()),
              v.snapshot(),
              v.managed(),
              n != null && n.hidden(),
              vms,
              metadataOnly ? null : n == null ? "file missing" : n.problem(),
              cbt,
              metadataOnly ? "cbt_metadata" : "user",
              vbdUuids,
              v.snapshotOf(),
              n == null ? null : n.created()));
    }
    return out;
  }

  public VdiView vdi(String uuid) throws IOException {
    for (VdiView v : vdis()) {
      if (v.uuid().equals(uuid)) {
        return v;
      }
    }
    throw new SrException(SrException.Kind.NOT_FOUND, "no VDI with uuid " + uuid);
  }

  /** The VDI a snapshot was taken of, or null. */
  public String snapshotOf(String uuid) throws IOException {
    return record(uuid).snapshotOf();
  }

  Catalog.Vdi record(String uuid) throws IOException {
    return catalog
        .vdi(uuid)
        .orElseThrow(() -> new SrException(SrException.Kind.NOT_FOUND, "no VDI with uuid " + uuid));
  }

  /** The disks of templates and snapshots (read-only VDIs), from one read of the VMs. */
  private java.util.Set<String> templateDisks(List<Catalog.Vbd> vbds) throws IOException {
    java.util.Set<String> readOnlyVms = new java.util.HashSet<>();
    for (Catalog.Vm vm : catalog.vms()) {
      if (vm.template() || vm.snapshot()) {
        readOnlyVms.add(vm.uuid());
      }
    }
    java.util.Set<String> out = new java.util.HashSet<>();
    for (Catalog.Vbd b : vbds) {
      if (readOnlyVms.contains(b.vm())) {
        out.add(b.vdi());
      }
    }
    return out;
  }

  private boolean isTemplateDisk(String vdi) throws IOException {
    return templateDisks(catalog.vbds()).contains(vdi);
  }

  /**
   * Opens a VDI's chain, confined to the SR, holding the VDI's lock until closed: shared to read,
   * exclusive to write (one writer or many readers, across processes and NFS hosts). Refuses writes
   * to snapshots, templates' disks and base copies.
   */
  public VirtualDisk openVdi(String uuid, boolean readOnly) throws IOException {
    return openVdi(uuid, readOnly, readOnly ? "read" : "write");
  }

  public VirtualDisk openVdi(String uuid, boolean readOnly, String purpose) throws IOException {
    if (!readOnly) {
      requireWritableVdi(uuid);
      requireSafeMount(dir, true);
    } else {
      record(uuid);
    }
    if (Cbt.metadataOnly(this, uuid)) {
      throw new SrException(
          SrException.Kind.INVALID,
          "VDI " + uuid + " has no data (vdi-data-destroy): only its changed-block log is left");
    }
    SrLock l = vdiLock(uuid, !readOnly, purpose);
    CbtLog.Tracker t = null;
    try {
      if (!readOnly && catalog.config(uuid, Deltas.CONTENT) != null) {
        // written from now on: no longer the image it was imported from (Deltas.importDelta)
        catalog.transaction(() -> catalog.putConfig(uuid, Deltas.CONTENT, null));
      }
      DiskChain c = chain(uuid, readOnly);
      try {
        t = readOnly ? null : Cbt.track(this, uuid, c.size());
      } catch (IOException | RuntimeException e) {
        c.close();
        throw e;
      }
      return new LockedDisk(c, l, t);
    } catch (IOException | RuntimeException e) {
      l.close();
      throw e;
    }
  }

  /**
   * Opens the VDI whose file is {@code vdiFile} ({@code <sr>/<uuid>.vhd}, see {@link
   * io.vdisk.engine.WriteRule#srVdi}) through its SR: the SR's rules and the VDI's lock apply, as
   * for {@link #openVdi}; the SR itself is closed again, the disk keeps the VDI's lock.
   */
  public static VirtualDisk openVdiFile(Path vdiFile, boolean readOnly, String purpose)
      throws IOException {
    String uuid =
        WriteRule.srVdi(vdiFile)
            .orElseThrow(() -> new IllegalArgumentException(vdiFile + " is no SR's VDI"));
    try (StorageRepository sr =
        open(vdiFile.toAbsolutePath().normalize().getParent(), false, purpose)) {
      return sr.openVdi(uuid, readOnly, purpose);
    }
  }

  /**
   * Refuses an SR on SMB with byte-range locks (SQLite cannot lock the catalog there), and, for
   * changes, a mount whose locks stay on this host ({@link io.vdisk.engine.io.SharedMounts}):
   * another host would not see them.
   */
  private static void requireSafeMount(Path dir, boolean forChanges) throws SrException {
    String why =
        io.vdisk.engine.io.SharedMounts.unsupported(dir)
            .map(
                m ->
                    m
                        + ": not supported yet (SQLite cannot lock the catalog there); use NFS, or"
                        + " for one host mount it with nobrl and give --single-host")
            .orElse(null);
    if (why == null && forChanges) {
      why =
          io.vdisk.engine.io.SharedMounts.localOnlyLocks(dir)
              .map(
                  m ->
                      m
                          + ", whose locks other hosts cannot see; remount with server locks, or"
                          + " give --single-host when no other host uses this SR")
              .orElse(null);
    }
    if (why != null) {
      throw new SrException(SrException.Kind.UNSAFE_MOUNT, "SR " + dir + " is on " + why);
    }
  }

  /** Refuses to write a snapshot, a template's disk or a base copy. */
  void requireWritableVdi(String uuid) throws IOException {
    Catalog.Vdi v = record(uuid);
    if (v.readOnly() || !v.managed() || isTemplateDisk(uuid)) {
      throw new SrException(
          SrException.Kind.READ_ONLY,
          "VDI " + uuid + " is read-only (a snapshot, a template's disk or a base copy)");
    }
  }

  /** The VDI's chain without its lock, for work done under a lock already held. */
  DiskChain chain(String uuid, boolean readOnly) throws IOException {
    return DiskChain.open(
        file(uuid),
        readOnly ? StorageProvider.Access.READ : StorageProvider.Access.WRITE,
        provider,
        dir,
        WriteRule.Grant.CHECKED);
  }

  /** The lock of one VDI, in {@code <sr>/locks/}. */
  SrLock vdiLock(String uuid, boolean exclusive, String purpose) throws IOException {
    return SrLock.take(vdiLockFile(uuid), exclusive, "VDI " + uuid, purpose);
  }

  Path vdiLockFile(String uuid) {
    return dir.resolve("locks").resolve(uuid + ".lock");
  }

  /**
   * Writes the journal record, does the work from it, removes the record. When the work fails (an
   * error, a full disk, a signal, even an {@code Error}), it is rolled back before the failure goes
   * on, so nothing reported as failed happens later; only when the rollback fails too does the
   * record stay, for the next open to finish or undo.
   */
  void journaled(SrOp op) throws IOException {
    SrJournal.Entry e = journal.begin(op);
    boolean done = false;
    try {
      op.apply(this);
      done = true;
    } finally {
      if (!done) {
        rollBack(e);
      }
    }
    try {
      journal.end(e);
    } catch (IOException leftBehind) {
      // The work is done and durable; the record left behind is finished (a no-op) and removed
      // by the next open. Reporting failure here would be a lie.
    }
  }

  /** Rolls a failed operation back; a rollback that fails leaves the record for recovery. */
  private void rollBack(SrJournal.Entry e) {
    try {
      e.op().rollBack(this);
      journal.end(e);
    } catch (IOException | RuntimeException ignored) {
      // The record stays: the next open of the SR finishes or undoes it.
    }
  }

  /** Adds to the record of an operation that learns what it makes as it goes. */
  SrJournal.Entry note(SrJournal.Entry e, SrOp op) throws IOException {
    return journal.update(e, op);
  }

  SrJournal.Entry begin(SrOp op) throws IOException {
    return journal.begin(op);
  }

  void end(SrJournal.Entry e) throws IOException {
    journal.end(e);
  }

  // ---- recovery -----------------------------------------------------------------------------

  /** Journal records that could not be finished, for sr-scan to report. */
  List<String> failedJournals() throws IOException {
    return journal.setAsideRecords();
  }

  /** Removes the records set aside (sr-scan clear-failed=true); returns how many. */
  int clearFailedJournals() throws IOException {
    return journal.clearSetAside();
  }

  /** What opening the SR had to say: records set aside, operations rolled back. */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  /**
   * Finishes what crashed commands left: each journaled SR operation is finished, or rolled back
   * when finishing fails, or set aside when neither works; then coalesces, then stale temporary
   * files of dead writers go.
   */
  private void recover() throws IOException {
    for (SrJournal.Entry e : journal.pending(warnings)) {
      try {
        e.op().apply(this);
        journal.end(e);
      } catch (IOException | RuntimeException forward) {
        try {
          e.op().rollBack(this);
          journal.end(e);
          warnings.add(
              "an interrupted "
                  + e.op().op()
                  + " could not be finished ("
                  + io.vdisk.engine.io.Printable.of(forward.getMessage())
                  + "); it was rolled back");
        } catch (IOException | RuntimeException back) {
          // A record that can be neither finished nor undone must not wedge the SR: set it aside
          // for sr-scan to report, and let the catalog and files be reconciled from what is there.
          journal.setAside(e.file(), SrOp.record(e.op()), forward);
        }
      }
    }
    warnings.addAll(Coalescer.recover(provider, dir).warnings());
    // A GC coalesce that finished its files but not its catalog row leaves a base copy's row
    // without a file: forget it (a visible VDI's missing file is for sr-scan to report).
    for (Catalog.Vdi v : catalog.vdis()) {
      if (!v.managed() && !Files.exists(file(v.uuid()))) {
        catalog.transaction(() -> catalog.deleteVdi(v.uuid()));
      }
    }
    io.vdisk.engine.io.TempFiles.sweep(provider, dir);
  }

  @Override
  public void close() throws IOException {
    try {
      catalog.close();
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }
}
