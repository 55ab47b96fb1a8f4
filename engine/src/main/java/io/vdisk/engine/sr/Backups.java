package io.vdisk.engine.sr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Progress;
import io.vdisk.engine.Resizer;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.Holders;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.WholeFileLock;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Delta backups of a VM into any directory (a local disk, an NFS or SMB mount), after Xen
 * Orchestra's layout: per VM a directory of run manifests ({@code <time>.json}, the commit point of
 * a run) and per disk a directory of VHDs ({@code <vdi>/<time>.vhd}), the first run's full and
 * every later one a differencing VHD over the run before ({@code ./<previous time>.vhd}). Each run
 * snapshots the VM's disks, exports what changed since the previous run's snapshots (kept in the SR
 * for that, the older ones destroyed) and writes its manifest last. {@code keep} merges the oldest
 * delta into the full one as XO does: its sectors into the full file, which then takes the delta's
 * identity and name, so the deltas after it still find their parent, journaled in {@code
 * .merge.json} and finished by the next run when interrupted.
 */
public final class Backups {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern TIME = Pattern.compile("[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?");
  private static final Pattern UUID_TEXT =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final int MAX_MANIFEST = 1 << 20;
  private static final String MERGE = ".merge.json";

  private Backups() {}

  /** One disk of a run. */
  public record Disk(
      String vdi,
      String name,
      String device,
      boolean bootable,
      String mode,
      long size,
      String snapshot,
      String file,
      String parent) {}

  /** One run: its time, the VM as it was, its disks. */
  public record Run(
      String time,
      String vm,
      String name,
      String description,
      int vcpus,
      long memory,
      List<Disk> disks) {}

  /** What a backup run did. */
  public record Result(Run run, long bytes, List<String> merged) {}

  /**
   * Backs {@code vmRef} up into {@code dir}: a full VHD per disk the first time (or when the
   * previous run's snapshot is gone), else a delta; then, with {@code keep > 0}, merges the oldest
   * runs until {@code keep} remain.
   */
  public static Result backup(StorageRepository sr, String vmRef, Path dir, int keep)
      throws IOException {
    sr.requireWritable();
    Vms.VmView vm = Vms.get(sr, vmRef);
    Path vmDir = Files.createDirectories(dir.resolve(vm.uuid()));
    StorageProvider p = sr.provider();
    try (WholeFileLock l = lock(vmDir, true, "vdisk backup")) {
      List<String> merged = new ArrayList<>(finishMerge(p, vmDir));
      List<Run> runs = runs(vmDir);
      removeUnreferenced(p, vmDir, runs); // what a run killed before its manifest left
      Run last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
      String time = newTime(last);
      List<Disk> disks = new ArrayList<>();
      List<String> oldSnapshots = new ArrayList<>();
      long bytes = 0;
      for (Vms.Disk d : vm.disks()) {
        Disk prev =
            last == null
                ? null
                : last.disks().stream()
                    .filter(x -> x.vdi().equals(d.vdi()))
                    .findFirst()
                    .orElse(null);
        String snap = Vdis.snapshot(sr, d.vdi());
        Path vdiDir = Files.createDirectories(vmDir.resolve(d.vdi()));
        Path file = vdiDir.resolve(time + ".vhd");
        boolean delta =
            prev != null
                && usable(sr, prev.snapshot(), d.vdi())
                && Files.exists(vdiDir.resolve(prev.file()));
        if (delta) {
          bytes +=
              Deltas.export(sr, snap, prev.snapshot(), prev.file(), file, false, sr.progress())
                  .bytes();
        } else {
          bytes += VdiContents.exportTo(sr, snap, file, Converter.Target.VHD).dataBytes();
        }
        if (prev != null && usable(sr, prev.snapshot(), d.vdi())) {
          oldSnapshots.add(prev.snapshot());
        }
        disks.add(
            new Disk(
                d.vdi(),
                d.vdiName(),
                d.device(),
                d.bootable(),
                d.mode(),
                d.virtualSize(),
                snap,
                file.getFileName().toString(),
                delta ? prev.file() : null));
      }
      Run run =
          new Run(time, vm.uuid(), vm.name(), vm.description(), vm.vcpus(), vm.memory(), disks);
      p.writeAtomically(vmDir.resolve(time + ".json"), encode(run));
      for (String s : oldSnapshots) {
        Vdis.destroy(sr, s); // the new run's snapshot is the next run's base
      }
      runs.add(run);
      while (keep > 0 && runs.size() > keep) {
        merged.add(mergeOldest(p, vmDir, runs));
        runs.remove(0);
      }
      removeUnreferenced(p, vmDir, runs);
      return new Result(run, bytes, merged);
    }
  }

  private static Disk find(Run run, String vdi) {
    for (Disk d : run.disks()) {
      if (d.vdi().equals(vdi)) {
        return d;
      }
    }
    return null;
  }

  private static boolean usable(StorageRepository sr, String snapshot, String vdi)
      throws IOException {
    try {
      Catalog.Vdi s = sr.record(snapshot);
      return s.snapshot() && vdi.equals(s.snapshotOf()) && Files.exists(sr.file(snapshot));
    } catch (SrException gone) {
      return false;
    }
  }

  /** The runs in {@code vmDir}, oldest first, each checked against its files. */
  public static List<Run> runs(Path vmDir) throws IOException {
    List<Run> out = new ArrayList<>();
    if (!Files.isDirectory(vmDir)) {
      return out;
    }
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(vmDir, "*.json")) {
      for (Path f : ds) {
        String n = f.getFileName().toString();
        String t = n.substring(0, n.length() - 5);
        if (TIME.matcher(t).matches()) {
          names.add(t);
        }
      }
    }
    // by time, then by the suffix a second run in the same second gets ("…Z" before "…Z-1")
    names.sort(
        java.util.Comparator.comparing((String t) -> t.substring(0, 16))
            .thenComparingInt(t -> t.length() == 16 ? 0 : Integer.parseInt(t.substring(17))));
    for (String t : names) {
      out.add(decode(vmDir.resolve(t + ".json")));
    }
    return out;
  }

  /**
   * Restores the run {@code time} (null: the latest) of the VM backed up in {@code vmDir} into the
   * SR as a new VM; returns its UUID. Every disk's chain is checked against the manifest first.
   */
  public static String restore(StorageRepository sr, Path vmDir, String time, String name)
      throws IOException {
    sr.requireWritable();
    try (WholeFileLock l = lock(vmDir, false, "vdisk restore")) {
      if (Files.exists(vmDir.resolve(MERGE))) {
        throw new SrException(
            SrException.Kind.INVALID,
            vmDir + ": a merge was interrupted; the next backup finishes it (then restore)");
      }
      List<Run> runs = runs(vmDir);
      if (runs.isEmpty()) {
        throw new SrException(SrException.Kind.NOT_FOUND, vmDir + ": no backup runs");
      }
      Run run =
          time == null
              ? runs.get(runs.size() - 1)
              : runs.stream()
                  .filter(r -> r.time().equals(time))
                  .findFirst()
                  .orElseThrow(
                      () ->
                          new SrException(SrException.Kind.NOT_FOUND, vmDir + ": no run " + time));
      for (Disk d : run.disks()) {
        check(vmDir, d);
      }
      String vm =
          Vms.create(
              sr, name != null ? name : run.name(), run.description(), run.vcpus(), run.memory());
      for (Disk d : run.disks()) {
        String vdi = Vdis.create(sr, d.name(), "", d.size());
        VdiContents.importFrom(sr, vdi, vmDir.resolve(d.vdi()).resolve(d.file()), Disks.Format.VHD);
        Vms.createVbd(sr, vm, vdi, d.device(), d.bootable(), d.mode());
      }
      return vm;
    }
  }

  /** A disk's file must be the VHD the manifest says, its chain whole. */
  private static void check(Path vmDir, Disk d) throws IOException {
    Path f = vmDir.resolve(d.vdi()).resolve(d.file());
    if (!Files.isRegularFile(f)) {
      throw mismatch(vmDir, d, "its file " + d.file() + " is missing");
    }
    try (DiskChain c =
        DiskChain.open(
            f, StorageProvider.Access.READ, StorageProvider.FILES, vmDir.resolve(d.vdi()))) {
      if (!c.leaf().footer().uniqueId().toString().equals(d.snapshot())) {
        throw mismatch(
            vmDir,
            d,
            d.file() + " is image " + c.leaf().footer().uniqueId() + ", not " + d.snapshot());
      }
      if (c.size() != d.size()) {
        throw mismatch(vmDir, d, d.file() + " holds " + c.size() + " bytes, not " + d.size());
      }
    }
  }

  private static SrException mismatch(Path vmDir, Disk d, String why) {
    return new SrException(
        SrException.Kind.INVALID,
        vmDir + ": the manifest does not match its files: disk " + d.vdi() + ": " + why);
  }

  // ---- merging ------------------------------------------------------------------------------

  /**
   * Merges the oldest run's full files into the next run's deltas: the journal first, then per disk
   * the delta's sectors into the full file, the full file takes the delta's identity and is renamed
   * over it; then the next run's manifest says full, the oldest manifest goes, the journal goes.
   * Every step can run again.
   */
  private static String mergeOldest(StorageProvider p, Path vmDir, List<Run> runs)
      throws IOException {
    Run oldest = runs.get(0);
    Run next = runs.get(1);
    ObjectNode j = JSON.createObjectNode();
    j.put("from", oldest.time());
    j.put("into", next.time());
    p.writeAtomically(vmDir.resolve(MERGE), JSON.writeValueAsBytes(j));
    finishMerge(p, vmDir);
    return oldest.time() + " into " + next.time();
  }

  /** Finishes the merge {@code .merge.json} describes, if any; returns what it finished. */
  private static List<String> finishMerge(StorageProvider p, Path vmDir) throws IOException {
    Path journal = vmDir.resolve(MERGE);
    if (!Files.exists(journal)) {
      return List.of();
    }
    JsonNode j = JSON.readTree(read(journal));
    String from = text(j, "from");
    String into = text(j, "into");
    if (!TIME.matcher(from).matches() || !TIME.matcher(into).matches()) {
      throw new io.vdisk.vhd.CorruptImageException(journal + ": not a merge journal");
    }
    Path fromManifest = vmDir.resolve(from + ".json");
    Run nextRun = decode(vmDir.resolve(into + ".json"));
    if (Files.exists(fromManifest)) {
      Run oldest = decode(fromManifest);
      List<Disk> disks = new ArrayList<>();
      for (Disk d : nextRun.disks()) {
        Disk base = find(oldest, d.vdi());
        if (d.parent() != null && base != null && d.parent().equals(base.file())) {
          mergeFile(
              p, vmDir.resolve(d.vdi()), base.file(), d.file(), UUID.fromString(d.snapshot()));
          d =
              new Disk(
                  d.vdi(),
                  d.name(),
                  d.device(),
                  d.bootable(),
                  d.mode(),
                  d.size(),
                  d.snapshot(),
                  d.file(),
                  null);
        }
        disks.add(d);
      }
      Run merged =
          new Run(
              nextRun.time(),
              nextRun.vm(),
              nextRun.name(),
              nextRun.description(),
              nextRun.vcpus(),
              nextRun.memory(),
              disks);
      p.writeAtomically(vmDir.resolve(into + ".json"), encode(merged));
      p.delete(fromManifest);
    }
    p.delete(journal);
    return List.of(from + " into " + into);
  }

  /**
   * The delta's own sectors into the full file (grown first if the delta is bigger), the full file
   * given the delta's identity, then renamed over the delta. Done when the full file is gone.
   */
  private static void mergeFile(
      StorageProvider p, Path vdiDir, String full, String delta, UUID deltaId) throws IOException {
    Path f = vdiDir.resolve(full);
    Path d = vdiDir.resolve(delta);
    if (!Files.exists(f)) {
      return; // renamed already
    }
    try (VhdImage child = VhdImage.open(p.open(d, StorageProvider.Access.READ), true)) {
      long size;
      try (VhdImage parent = VhdImage.open(p.open(f, StorageProvider.Access.PEEK), true)) {
        size = parent.size();
      }
      if (child.size() > size) {
        Resizer.resize(p, f, child.size(), false, WriteRule.Grant.CHECKED);
      }
      try (DiskChain out =
          DiskChain.open(f, StorageProvider.Access.WRITE, p, null, WriteRule.Grant.CHECKED)) {
        Deltas.applyOwnSectors(child, out, Progress.NONE);
        out.flush();
        out.leaf().setUniqueId(deltaId);
      }
    }
    p.move(f, d);
  }

  /** Files in the disks' directories that no run names: what an interrupted run left. */
  private static void removeUnreferenced(StorageProvider p, Path vmDir, List<Run> runs)
      throws IOException {
    Set<Path> used = new HashSet<>();
    for (Run r : runs) {
      for (Disk d : r.disks()) {
        used.add(vmDir.resolve(d.vdi()).resolve(d.file()));
      }
    }
    List<Path> dirs = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(vmDir)) {
      for (Path d : ds) {
        if (UUID_TEXT.matcher(d.getFileName().toString()).matches()
            && Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          dirs.add(d);
        }
      }
    }
    for (Path dir : dirs) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.vhd")) {
        for (Path f : ds) {
          String n = f.getFileName().toString();
          if (!used.contains(f) && TIME.matcher(n.substring(0, n.length() - 4)).matches()) {
            p.delete(f);
          }
        }
      }
    }
  }

  // ---- manifests: hostile input --------------------------------------------------------------

  private static byte[] encode(Run r) throws IOException {
    ObjectNode m = JSON.createObjectNode();
    m.put("version", 1);
    m.put("time", r.time());
    ObjectNode vm = m.putObject("vm");
    vm.put("uuid", r.vm());
    vm.put("name-label", r.name());
    vm.put("name-description", r.description());
    vm.put("vcpus", r.vcpus());
    vm.put("memory", r.memory());
    ArrayNode disks = m.putArray("disks");
    for (Disk d : r.disks()) {
      ObjectNode o = disks.addObject();
      o.put("vdi", d.vdi());
      o.put("name-label", d.name());
      o.put("device", d.device());
      o.put("bootable", d.bootable());
      o.put("mode", d.mode());
      o.put("virtual-size", d.size());
      o.put("snapshot", d.snapshot());
      o.put("file", d.file());
      if (d.parent() == null) {
        o.putNull("parent");
      } else {
        o.put("parent", d.parent());
      }
    }
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m);
  }

  private static Run decode(Path manifest) throws IOException {
    JsonNode m;
    try {
      m = JSON.readTree(read(manifest));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new io.vdisk.vhd.CorruptImageException(
          manifest + ": not a backup manifest (" + e.getOriginalMessage() + ")");
    }
    try {
      if (m.path("version").asInt() != 1) {
        throw new IllegalArgumentException("version " + m.path("version") + " is not 1");
      }
      JsonNode vm = m.path("vm");
      List<Disk> disks = new ArrayList<>();
      for (JsonNode o : m.path("disks")) {
        String file = text(o, "file");
        String parent = o.path("parent").isNull() ? null : text(o, "parent");
        for (String f : parent == null ? List.of(file) : List.of(file, parent)) {
          if (!f.endsWith(".vhd") || !TIME.matcher(f.substring(0, f.length() - 4)).matches()) {
            throw new IllegalArgumentException(
                "file name '" + io.vdisk.engine.io.Printable.of(f) + "' is not <time>.vhd");
          }
        }
        disks.add(
            new Disk(
                uuid(o, "vdi"),
                text(o, "name-label"),
                text(o, "device"),
                o.path("bootable").asBoolean(),
                text(o, "mode"),
                o.path("virtual-size").asLong(),
                uuid(o, "snapshot"),
                file,
                parent));
      }
      return new Run(
          text(m, "time"),
          uuid(vm, "uuid"),
          text(vm, "name-label"),
          text(vm, "name-description"),
          vm.path("vcpus").asInt(1),
          vm.path("memory").asLong(),
          disks);
    } catch (IllegalArgumentException bad) {
      throw new io.vdisk.vhd.CorruptImageException(
          manifest + ": not a backup manifest (" + bad.getMessage() + ")");
    }
  }

  private static byte[] read(Path f) throws IOException {
    if (Files.size(f) > MAX_MANIFEST) {
      throw new io.vdisk.vhd.CorruptImageException(f + ": larger than a manifest can be");
    }
    return Files.readAllBytes(f);
  }

  private static String text(JsonNode o, String key) {
    JsonNode v = o.get(key);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("no " + key);
    }
    return v.asText();
  }

  private static String uuid(JsonNode o, String key) {
    String v = text(o, key);
    if (!UUID_TEXT.matcher(v).matches()) {
      throw new IllegalArgumentException(key + " is not a UUID");
    }
    return v;
  }

  /**
   * Now, to the second, as XO names runs; after {@code last} always (a second run in the same
   * second, or a clock that went back, gets {@code -1}, {@code -2}… on the last run's time).
   */
  private static String newTime(Run last) {
    String now = STAMP.format(Instant.now());
    if (last == null) {
      return now;
    }
    String lastBase = last.time().substring(0, 16);
    if (now.compareTo(lastBase) > 0) {
      return now;
    }
    int n = last.time().length() == 16 ? 0 : Integer.parseInt(last.time().substring(17));
    return lastBase + "-" + (n + 1);
  }

  private static WholeFileLock lock(Path vmDir, boolean exclusive, String purpose)
      throws IOException {
    return WholeFileLock.take(
        vmDir.resolve(".lock"), exclusive, "backup " + vmDir, Holders.self(purpose));
  }
}
