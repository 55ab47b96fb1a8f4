package io.vdisk.engine.sr;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Publisher;
import io.vdisk.engine.Resizer;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.StorageProvider;
import io.vdisk.engine.Streams;
import io.vdisk.engine.VhdCreator;
import io.vdisk.engine.VhdImage;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A storage repository as XenServer lays out a file SR: {@code <vdi-uuid>.vhd} files, plus {@code
 * sr.db} (the catalog), {@code sr.lock} and {@code journal/}. Opening it for changes takes the SR
 * lock exclusively and first finishes whatever a crashed command left in the journal.
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
  private final SrLock lock;
  private final Catalog catalog;
  private final SrJournal journal;
  private final boolean writable;

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
   * exclusively and interrupted operations are finished first; otherwise it is shared.
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
    SrLock lock = SrLock.take(d.resolve("sr.lock"), forChanges, "SR " + d, purpose);
    try {
      Catalog catalog = Catalog.open(d.resolve(CATALOG));
      StorageRepository sr = new StorageRepository(d, provider, lock, catalog, forChanges);
      if (forChanges) {
        sr.recover();
      }
      return sr;
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  public Path dir() {
    return dir;
  }

  Path file(String vdi) {
    return dir.resolve(vdi + ".vhd");
  }

  Catalog catalog() {
    return catalog;
  }

  SrJournal journal() {
    return journal;
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
      String problem) {}

  public List<VdiView> vdis() throws IOException {
    SrTree tree = SrTree.read(dir);
    List<Catalog.Vbd> vbds = catalog.vbds();
    List<VdiView> out = new ArrayList<>();
    for (Catalog.Vdi v : catalog.vdis()) {
      SrTree.Node n = tree.node(v.uuid());
      List<String> vms = new ArrayList<>();
      for (Catalog.Vbd b : vbds) {
        if (b.vdi().equals(v.uuid())) {
          vms.add(b.vm());
        }
      }
      out.add(
          new VdiView(
              v.uuid(),
              v.name(),
              v.description(),
              n == null ? 0 : n.virtualSize(),
              n == null ? 0 : n.physicalSize(),
              n == null ? 0 : tree.depth(v.uuid()),
              tree.parent(v.uuid()),
              v.readOnly() || isTemplateDisk(v.uuid()),
              v.snapshot(),
              v.managed(),
              n != null && n.hidden(),
              vms,
              n == null ? "file missing" : n.problem()));
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

  Catalog.Vdi record(String uuid) throws IOException {
    return catalog
        .vdi(uuid)
        .orElseThrow(() -> new SrException(SrException.Kind.NOT_FOUND, "no VDI with uuid " + uuid));
  }

  private boolean isTemplateDisk(String vdi) throws IOException {
    List<Catalog.Vm> vms = catalog.vms();
    for (Catalog.Vbd b : catalog.vbds()) {
      if (b.vdi().equals(vdi)) {
        for (Catalog.Vm vm : vms) {
          if (vm.uuid().equals(b.vm()) && (vm.template() || vm.snapshot())) {
            return true;
          }
        }
      }
    }
    return false;
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
    } else {
      record(uuid);
    }
    SrLock l = vdiLock(uuid, !readOnly, purpose);
    try {
      return new LockedDisk(chain(uuid, readOnly), l);
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
    return SrLock.take(
        dir.resolve("locks").resolve(uuid + ".lock"), exclusive, "VDI " + uuid, purpose);
  }

  public String createVdi(String name, String description, long size) throws IOException {
    requireWritable();
    String uuid = UUID.randomUUID().toString();
    journaled(
        "vdi-create",
        "new",
        uuid,
        "name",
        name,
        "description",
        description,
        "size",
        Long.toString(size));
    return uuid;
  }

  private void applyCreate(SrJournal.Entry e) throws IOException {
    String uuid = e.get("new");
    if (!Files.exists(file(uuid))) {
      VhdCreator.createDynamic(
          provider, file(uuid), VhdCreator.Spec.dynamic(Long.parseLong(e.get("size"))));
    }
    catalog.transaction(
        () ->
            catalog.putVdi(
                new Catalog.Vdi(
                    uuid, e.get("name"), e.get("description"), false, false, null, true)));
  }

  public void setVdiParams(String uuid, Map<String, String> params) throws IOException {
    requireWritable();
    Catalog.Vdi v = record(uuid);
    String name = params.getOrDefault("name-label", v.name());
    String desc = params.getOrDefault("name-description", v.description());
    boolean ro =
        params.containsKey("read-only")
            ? Boolean.parseBoolean(params.get("read-only"))
            : v.readOnly();
    catalog.transaction(
        () ->
            catalog.putVdi(
                new Catalog.Vdi(uuid, name, desc, ro, v.snapshot(), v.snapshotOf(), v.managed())));
  }

  /** vdi-snapshot: a read-only point-in-time copy; returns its UUID. */
  public String snapshotVdi(String uuid) throws IOException {
    return snapshotOrClone(uuid, true, UUID.randomUUID().toString(), null);
  }

  /** vdi-clone: a writable copy-on-write copy; returns its UUID. */
  public String cloneVdi(String uuid) throws IOException {
    return snapshotOrClone(uuid, false, UUID.randomUUID().toString(), null);
  }

  String snapshotOrClone(String uuid, boolean snapshot, String newUuid, String name)
      throws IOException {
    requireWritable();
    Catalog.Vdi v = record(uuid);
    if (!v.managed()) {
      throw new SrException(
          SrException.Kind.INVALID, "VDI " + uuid + " is a hidden base copy; snapshot a leaf");
    }
    SrTree tree = SrTree.read(dir);
    if (tree.node(uuid) == null) {
      throw new SrException(SrException.Kind.NOT_FOUND, "VDI " + uuid + ": file missing");
    }
    // An empty differencing leaf is not split again: the new leaf shares its first ancestor
    // that holds data (vhd-util snapshot), so cloning an unchanged template adds no depth.
    String anchor = uuid;
    while (tree.node(anchor).allocatedBlocks() == 0 && tree.parent(anchor) != null) {
      anchor = tree.parent(anchor);
    }
    if (tree.depth(anchor) >= MAX_CHAIN) {
      throw new SrException(
          SrException.Kind.INVALID,
          "VDI "
              + uuid
              + ": chain is "
              + tree.depth(anchor)
              + " deep; XenServer's limit is "
              + MAX_CHAIN
              + " (vdi-copy flattens it)");
    }
    String label = name != null ? name : v.name() + (snapshot ? " (snapshot)" : " (clone)");
    // The VDI's lock before the journal: a refused request must leave nothing to finish later.
    try (SrLock l = vdiLock(uuid, true, snapshot ? "vdi-snapshot" : "vdi-clone")) {
      String[] common = {
        "vdi",
        uuid,
        "new",
        newUuid,
        "snapshot",
        Boolean.toString(snapshot),
        "name",
        label,
        "description",
        v.description()
      };
      if (anchor.equals(uuid)) {
        journaled("vdi-snapshot", concat(common, "base", UUID.randomUUID().toString()));
      } else {
        journaled("vdi-link", concat(common, "parent", anchor));
      }
    }
    return newUuid;
  }

  /** Idempotent steps of a split snapshot (see the class comment). */
  private void applySnapshot(SrJournal.Entry e) throws IOException {
    String vdi = e.get("vdi");
    String base = e.get("base");
    String neu = e.get("new");
    if (!Files.exists(file(base))) {
      provider.link(file(base), file(vdi));
    }
    UUID baseFooter;
    try (VhdImage b = VhdImage.open(provider.open(file(base), true), true)) {
      baseFooter = b.footer().uniqueId();
    }
    boolean leafDone;
    try (VhdImage l = VhdImage.open(provider.open(file(vdi), true), true)) {
      leafDone = l.isDifferencing() && l.header().parentUuid().equals(baseFooter);
    }
    if (!leafDone) {
      Publisher.publish(
          provider,
          file(vdi),
          "snapshot",
          true,
          tmp -> {
            Snapshots.createChild(provider, file(base), tmp);
            return null;
          });
    }
    if (!Files.exists(file(neu))) {
      Snapshots.createChild(provider, file(base), file(neu));
    }
    try (VhdImage b = VhdImage.open(provider.open(file(base), false), false)) {
      if (!b.footer().isHidden()) {
        b.setHidden(true);
      }
    }
    catalog.transaction(
        () -> catalog.putVdi(new Catalog.Vdi(base, "base copy", "", true, false, null, false)));
    putNewLeaf(e);
  }

  /** A new leaf on an existing ancestor (the no-new-depth case). */
  private void applyLink(SrJournal.Entry e) throws IOException {
    String neu = e.get("new");
    if (!Files.exists(file(neu))) {
      Snapshots.createChild(provider, file(e.get("parent")), file(neu));
    }
    putNewLeaf(e);
  }

  /** vdi-copy: the chain flattened into a new standalone VDI, visible only when complete. */
  public String copyVdi(String uuid, String name) throws IOException {
    return copyVdi(uuid, name, UUID.randomUUID().toString());
  }

  String copyVdi(String uuid, String name, String newUuid) throws IOException {
    requireWritable();
    Catalog.Vdi v = record(uuid);
    try (SrLock l = vdiLock(uuid, false, "vdi-copy")) {
      journaled(
          "vdi-copy",
          "vdi",
          uuid,
          "new",
          newUuid,
          "name",
          name != null ? name : v.name(),
          "description",
          v.description());
    }
    return newUuid;
  }

  private void applyCopy(SrJournal.Entry e) throws IOException {
    String neu = e.get("new");
    if (!Files.exists(file(neu))) {
      try (DiskChain src = chain(e.get("vdi"), true)) {
        Converter.convert(provider, src, file(neu), Converter.Target.VHD, Converter.Progress.NONE);
      }
    }
    catalog.transaction(
        () ->
            catalog.putVdi(
                new Catalog.Vdi(
                    neu, e.get("name"), e.get("description"), false, false, null, true)));
  }

  /** vdi-destroy: refused while a VM uses the VDI or for a base copy with children. */
  public void destroyVdi(String uuid) throws IOException {
    requireWritable();
    Catalog.Vdi v = record(uuid);
    for (Catalog.Vbd b : catalog.vbds()) {
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
    if (!SrTree.read(dir).children(uuid).isEmpty()) {
      throw new SrException(
          SrException.Kind.IN_USE,
          "VDI " + uuid + " (" + v.name() + ") has children; it is removed by sr-gc when unused");
    }
    try (SrLock l = vdiLock(uuid, true, "vdi-destroy")) {
      journaled("vdi-destroy", "vdi", uuid);
    }
  }

  private void applyDestroy(SrJournal.Entry e) throws IOException {
    String vdi = e.get("vdi");
    catalog.transaction(() -> catalog.deleteVdi(vdi));
    provider.delete(file(vdi));
  }

  public void resizeVdi(String uuid, long size) throws IOException {
    requireWritable();
    requireWritableVdi(uuid);
    // The VDI's lock, not an open chain: the resize opens (or rewrites) the file itself.
    try (SrLock l = vdiLock(uuid, true, "vdi-resize")) {
      long current;
      try (DiskChain c = chain(uuid, true)) {
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
      Resizer.resize(provider, file(uuid), size, false, WriteRule.Grant.CHECKED);
    }
  }

  /**
   * vdi-import: replaces the VDI's contents with a raw or VHD file's, whole: the new contents are
   * written as a standalone image under a temporary name and renamed over the VDI's file (its old
   * ancestors become garbage for sr-gc).
   */
  public void importVdi(String uuid, Path source, Disks.Format format) throws IOException {
    replaceContents(
        uuid,
        out -> {
          try (VirtualDisk src = Disks.open(source, format, true)) {
            if (src.size() > out.size()) {
              throw new SrException(
                  SrException.Kind.INVALID,
                  source + " holds " + src.size() + " bytes; VDI " + uuid + " has " + out.size());
            }
            Converter.copy(src, out, Converter.Progress.NONE);
          }
        });
  }

  /** vdi-import from a stream (a pipe, stdin): raw bytes, or a dynamic or fixed VHD. */
  public void importVdi(
      String uuid, InputStream in, Disks.Format format, Converter.Progress progress)
      throws IOException {
    replaceContents(
        uuid,
        out -> {
          if (format == Disks.Format.VHD) {
            Streams.readVhd(in, out, progress);
          } else {
            Streams.readRaw(in, out, progress);
          }
        });
  }

  /** What fills a VDI's new contents. */
  @FunctionalInterface
  private interface Filler {
    void fill(VirtualDisk out) throws IOException;
  }

  private void replaceContents(String uuid, Filler filler) throws IOException {
    requireWritable();
    requireWritableVdi(uuid);
    try (SrLock l = vdiLock(uuid, true, "vdi-import")) {
      long size;
      try (DiskChain c = chain(uuid, true)) {
        size = c.size();
      }
      Publisher.publish(
          provider,
          file(uuid),
          "import",
          true,
          tmp -> {
            VhdCreator.createDynamic(provider, tmp, VhdCreator.Spec.dynamic(size));
            try (DiskChain out =
                DiskChain.open(
                    tmp, StorageProvider.Access.WRITE, provider, dir, WriteRule.Grant.NEW_IMAGE)) {
              filler.fill(out);
              out.flush();
            }
            return null;
          });
    }
  }

  public Converter.Result exportVdi(String uuid, Path target, Converter.Target format)
      throws IOException {
    try (VirtualDisk c = openVdi(uuid, true, "vdi-export")) {
      return Converter.convert(c, target, format, Converter.Progress.NONE);
    }
  }

  /** vdi-export to a stream: raw bytes in order, or a dynamic VHD written sequentially. */
  public long exportVdi(
      String uuid, OutputStream out, Converter.Target format, Converter.Progress progress)
      throws IOException {
    try (VirtualDisk c = openVdi(uuid, true, "vdi-export")) {
      return format == Converter.Target.RAW
          ? Streams.writeRaw(c, out, progress)
          : Streams.writeVhd(c, out, progress);
    }
  }

  /** Writes the journal record, does the work from it, removes the record. */
  private void journaled(String op, String... keyValues) throws IOException {
    SrJournal.Entry e = journal.begin(op, keyValues);
    apply(e);
    journal.end(e);
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** The catalog row of a new leaf made by a snapshot or clone. */
  private void putNewLeaf(SrJournal.Entry e) throws IOException {
    boolean snapshot = Boolean.parseBoolean(e.get("snapshot"));
    catalog.transaction(
        () ->
            catalog.putVdi(
                new Catalog.Vdi(
                    e.get("new"),
                    e.get("name"),
                    e.get("description"),
                    snapshot,
                    snapshot,
                    snapshot ? e.get("vdi") : null,
                    true)));
  }

  // ---- recovery -----------------------------------------------------------------------------

  void apply(SrJournal.Entry e) throws IOException {
    switch (e.op()) {
      case "vdi-create" -> applyCreate(e);
      case "vdi-snapshot" -> applySnapshot(e);
      case "vdi-link" -> applyLink(e);
      case "vdi-copy" -> applyCopy(e);
      case "vdi-destroy" -> applyDestroy(e);
      case "xva-import" -> {
        // An import that did not reach its catalog transaction is undone: it was never
        // acknowledged, and its data is still in the archive.
        List<String> files = new ArrayList<>();
        for (int i = 1; e.get("file." + i) != null; i++) {
          files.add(e.get("file." + i));
        }
        XvaTransfer.rollBack(this, files);
      }
      default -> Vms.apply(this, e);
    }
  }

  /** Journal records that could not be finished, for sr-scan to report. */
  List<String> failedJournals() throws IOException {
    return journal.setAsideRecords();
  }

  /** Finishes what crashed commands left: journaled SR operations, then coalesces. */
  private void recover() throws IOException {
    for (SrJournal.Entry e : journal.pending()) {
      try {
        apply(e);
        journal.end(e);
      } catch (IOException | RuntimeException failure) {
        // A record that cannot be finished must not wedge the SR: set it aside for sr-scan to
        // report, and let the catalog and files be reconciled from what is there.
        journal.setAside(e, failure);
      }
    }
    Coalescer.recover(provider, dir);
    // A GC coalesce that finished its files but not its catalog row leaves a base copy's row
    // without a file: forget it (a visible VDI's missing file is for sr-scan to report).
    for (Catalog.Vdi v : catalog.vdis()) {
      if (!v.managed() && !Files.exists(file(v.uuid()))) {
        catalog.transaction(() -> catalog.deleteVdi(v.uuid()));
      }
    }
  }

  @Override
  public void close() throws IOException {
    try {
      catalog.close();
    } finally {
      lock.close();
    }
  }
}
