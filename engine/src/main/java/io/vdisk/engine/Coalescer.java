package io.vdisk.engine;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.image.VhdParent;
import io.vdisk.engine.io.ImageRefusedException;
import io.vdisk.engine.io.JournalCodec;
import io.vdisk.engine.io.Printable;
import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Merges a differencing image into its parent, relinks its children to that parent, and removes it,
 * as XenServer's GC does (docs/reference/vhd-format-notes.md §3.3), journaled so that a crash at
 * any write is finished by the next coalesce or {@code check --repair}.
 *
 * <ol>
 *   <li>Refuse when another image in the parent's directory has the same parent: a base shared by
 *       siblings must never be written (unless forced).
 *   <li>Journal {@code merge} (child, parent, the child's children), written atomically.
 *   <li>Grow the parent to the child's size if smaller ({@link Resizer}).
 *   <li>Copy every sector present in the child into the parent ({@link VhdImage#writeSectors}: the
 *       parent's own crash-safe ordering), whole blocks where the child's block is full, then
 *       flush. Idempotent: the parent's only child is the child, whose data does not change, so
 *       copying again gives the same parent; every image that reads through the child reads the
 *       same before, during and after.
 *   <li>Journal {@code relink}; point each of the child's children at the parent ({@link
 *       VhdParent#relink}); unhide the parent if the child was a visible leaf.
 *   <li>Delete the child, then the journal.
 * </ol>
 */
public final class Coalescer {
  private static final String JOURNAL_PREFIX = ".vdisk-coalesce-";
  private static final String JOURNAL_SUFFIX = ".journal";

  private Coalescer() {}

  /**
   * What a coalesce did; {@code finishedEarlier} when the coalesce asked for had been interrupted
   * and the journal's recovery has just finished it ({@code parent} is then unknown, null).
   */
  public record Result(
      Path child,
      Path parent,
      List<Path> relinked,
      long bytesCopied,
      boolean finishedEarlier,
      List<String> warnings) {}

  /**
   * The journal of one coalesce, beside the images in their directory. It names files by their
   * names in that directory only (never a path), with the UUIDs they must have: recovery checks
   * every file before it touches one, and sets aside a journal that does not match.
   */
  record Journal(
      String phase,
      String child,
      UUID childUuid,
      String parent,
      UUID parentUuid,
      boolean unhide,
      List<String> grandchildren) {
    private static final String FORMAT = "vdisk-coalesce-2";

    byte[] encode() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("format", FORMAT);
      m.put("phase", phase);
      m.put("child", child);
      m.put("child-uuid", childUuid.toString());
      m.put("parent", parent);
      m.put("parent-uuid", parentUuid.toString());
      m.put("unhide", Boolean.toString(unhide));
      for (int i = 0; i < grandchildren.size(); i++) {
        m.put("grandchild." + i, grandchildren.get(i));
      }
      return JournalCodec.encode(m);
    }

    static Journal decode(Path file, byte[] bytes) throws IOException {
      String text = new String(bytes, StandardCharsets.UTF_8);
      Map<String, String> m =
          text.startsWith("vdisk-coalesce 1\n") ? legacy(file, text) : JournalCodec.decode(bytes);
      if (!FORMAT.equals(m.get("format")) && !text.startsWith("vdisk-coalesce 1\n")) {
        throw new CorruptImageException(file + ": not a vdisk coalesce journal");
      }
      String phase = m.get("phase");
      if (!"merge".equals(phase) && !"relink".equals(phase)) {
        throw new CorruptImageException(file + ": phase '" + Printable.of(phase) + "' unknown");
      }
      List<String> g = new ArrayList<>();
      for (int i = 0; m.containsKey("grandchild." + i); i++) {
        g.add(name(file, m.get("grandchild." + i)));
      }
      return new Journal(
          phase,
          name(file, m.get("child")),
          uuid(file, m.get("child-uuid")),
          name(file, m.get("parent")),
          uuid(file, m.get("parent-uuid")),
          Boolean.parseBoolean(m.get("unhide")),
          g);
    }

    /** vdisk 0.1's line format, with absolute paths: accepted when they name this directory. */
    private static Map<String, String> legacy(Path file, String text) throws IOException {
      Map<String, String> m = new LinkedHashMap<>();
      int g = 0;
      Path dir = file.toAbsolutePath().normalize().getParent();
      for (String line : text.split("\n", -1)) {
        int sp = line.indexOf(' ');
        if (sp < 0) {
          continue;
        }
        String k = line.substring(0, sp);
        String v = line.substring(sp + 1);
        if (k.equals("child") || k.equals("parent") || k.equals("grandchild")) {
          Path p = file.getFileSystem().getPath(v).toAbsolutePath().normalize();
          if (!dir.equals(p.getParent())) {
            throw new CorruptImageException(
                file + ": names " + Printable.of(v) + ", which is not in its directory");
          }
          v = p.getFileName().toString();
        }
        m.put(k.equals("grandchild") ? "grandchild." + g++ : k, v);
      }
      return m;
    }

    private static String name(Path file, String n) throws CorruptImageException {
      if (n == null
          || n.isEmpty()
          || n.equals(".")
          || n.equals("..")
          || n.contains("/")
          || n.contains("\\")
          || n.indexOf('\0') >= 0) {
        throw new CorruptImageException(
            file + ": '" + Printable.of(n) + "' is not a file name in the journal's directory");
      }
      return n;
    }

    private static UUID uuid(Path file, String u) throws CorruptImageException {
      try {
        UUID id = UUID.fromString(u == null ? "" : u);
        if (!id.toString().equals(u)) {
          throw new IllegalArgumentException();
        }
        return id;
      } catch (IllegalArgumentException e) {
        throw new CorruptImageException(file + ": '" + Printable.of(u) + "' is not a UUID");
      }
    }

    Journal withPhase(String p) {
      return new Journal(p, child, childUuid, parent, parentUuid, unhide, grandchildren);
    }
  }

  public static Result coalesce(StorageProvider p, Path child, boolean force) throws IOException {
    return coalesce(p, child, force, Progress.NONE);
  }

  /** As {@link #coalesce(StorageProvider, Path, boolean)}, reporting the merge's progress. */
  public static Result coalesce(StorageProvider p, Path child, boolean force, Progress progress)
      throws IOException {
    if (WriteRule.srVdi(child).isPresent()) {
      throw new ImageRefusedException(
          child.toString(),
          ImageRefusedException.Reason.READ_ONLY_VDI,
          "is a VDI of the SR in "
              + child.toAbsolutePath().normalize().getParent()
              + "; sr-gc coalesces an SR's base copies, under its locks and journal");
    }
    return run(p, child, force, progress);
  }

  /**
   * For an SR's garbage collector, whose own rules (under its locks and journal) chose a hidden
   * base {@code child} whose parent has no other child: the SR-file refusal does not apply.
   */
  public static Result coalesceSrBase(StorageProvider p, Path child) throws IOException {
    return run(p, child, false, Progress.NONE);
  }

  private static Result run(StorageProvider p, Path child, boolean force, Progress progress)
      throws IOException {
    Path c = child.toAbsolutePath().normalize();
    Path dir = c.getParent();
    Recovery earlier = recover(p, dir);
    if (earlier.finished().contains(c.getFileName().toString()) && !Files.exists(c)) {
      return new Result(c, null, List.of(), 0, true, earlier.warnings());
    }
    Path parent;
    UUID childUuid;
    UUID parentUuid;
    boolean childHidden;
    long childSize;
    try (DiskChain chain = DiskChain.open(c, true, p)) {
      if (chain.depth() < 2) {
        throw new java.nio.file.AccessDeniedException(
            c.toString(), null, "has no parent to coalesce into");
      }
      parent = chain.paths().get(1);
      childUuid = chain.leaf().footer().uniqueId();
      parentUuid = chain.layers().get(1).footer().uniqueId();
      childHidden = chain.leaf().footer().isHidden();
      childSize = chain.size();
    }
    if (!dir.equals(parent.getParent())) {
      throw new UnsupportedImageException(
          c
              + ": its parent "
              + parent
              + " is in another directory; coalesce keeps its journal beside both, so they must"
              + " share one");
    }
    if (!force) {
      List<Path> siblings = childrenOf(p, dir, parentUuid);
      siblings.remove(c);
      if (!siblings.isEmpty()) {
        throw new ImageRefusedException(
            parent.toString(),
            ImageRefusedException.Reason.SHARED_BASE,
            "is also the parent of "
                + siblings.get(0).getFileName()
                + "; a base shared by siblings is never written (--force to override)");
      }
    }
    List<String> grandchildren = new ArrayList<>();
    for (Path g : childrenOf(p, dir, childUuid)) {
      // Each one is relinked after the merge: one that cannot be opened would be left naming a
      // parent that is gone, so it is refused now, before anything is written.
      try (VhdImage gi = VhdImage.open(p.open(g, StorageProvider.Access.PEEK), true)) {
        grandchildren.add(g.getFileName().toString());
      } catch (IOException e) {
        throw new ImageRefusedException(
            c.toString(),
            ImageRefusedException.Reason.SHARED_BASE,
            g.getFileName()
                + " reads through it but cannot be opened ("
                + Printable.of(e.getMessage())
                + "); check and repair it first");
      }
    }
    Journal j =
        new Journal(
            "merge",
            c.getFileName().toString(),
            childUuid,
            parent.getFileName().toString(),
            parentUuid,
            !childHidden && grandchildren.isEmpty(),
            grandchildren);
    Path journal = journalPath(dir, childUuid);
    p.writeAtomically(journal, j.encode());
    long copied = finish(p, dir, journal, j, childSize, progress);
    List<Path> relinked = new ArrayList<>();
    for (String g : grandchildren) {
      relinked.add(dir.resolve(g));
    }
    return new Result(c, parent, relinked, copied, false, earlier.warnings());
  }

  /** What recovery did in a directory: the children whose coalesce it finished, and warnings. */
  public record Recovery(List<String> finished, List<String> warnings) {}

  /**
   * Finishes every journaled coalesce in {@code dir}. A journal is input like any file: one that
   * does not decode, or whose files do not have the UUIDs and parent it names, is set aside as
   * {@code .failed} with a warning, and nothing is touched.
   */
  public static Recovery recover(StorageProvider p, Path dir) throws IOException {
    List<String> finished = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<Path> journals = new ArrayList<>();
    try (DirectoryStream<Path> ds =
        Files.newDirectoryStream(dir, JOURNAL_PREFIX + "*" + JOURNAL_SUFFIX)) {
      ds.forEach(journals::add);
    }
    for (Path journal : journals) {
      if (!Files.isRegularFile(journal, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      Journal j;
      long size;
      try {
        if (Files.size(journal) > JournalCodec.MAX_BYTES) {
          throw new CorruptImageException(journal + ": too large for a coalesce journal");
        }
        j = Journal.decode(journal, Files.readAllBytes(journal));
        size = verify(p, dir, j);
      } catch (IOException e) {
        p.move(journal, journal.resolveSibling(journal.getFileName() + ".failed"));
        warnings.add(
            "coalesce journal "
                + journal.getFileName()
                + " set aside, nothing done: "
                + Printable.of(e.getMessage()));
        continue;
      }
      finish(p, dir, journal, j, size, Progress.NONE);
      finished.add(j.child());
    }
    return new Recovery(finished, warnings);
  }

  /**
   * Checks that the journal's files are the ones it was written for; returns the child's size for a
   * merge still to do (-1 when the merge is done).
   */
  private static long verify(StorageProvider p, Path dir, Journal j) throws IOException {
    Path parent = dir.resolve(j.parent());
    Path child = dir.resolve(j.child());
    if (!Files.isRegularFile(parent)) {
      throw new CorruptImageException("its parent " + j.parent() + " is missing");
    }
    try (VhdImage pi = VhdImage.open(p.open(parent, StorageProvider.Access.PEEK), true)) {
      if (!pi.footer().uniqueId().equals(j.parentUuid())) {
        throw new CorruptImageException(
            j.parent() + " has UUID " + pi.footer().uniqueId() + ", not " + j.parentUuid());
      }
    }
    if (!Files.exists(child)) {
      if (j.phase().equals("merge")) {
        throw new CorruptImageException("the child " + j.child() + " of a merge is missing");
      }
      return -1;
    }
    try (VhdImage ci = VhdImage.open(p.open(child, StorageProvider.Access.PEEK), true)) {
      if (!ci.footer().uniqueId().equals(j.childUuid())
          || !ci.isDifferencing()
          || !ci.header().parentUuid().equals(j.parentUuid())) {
        throw new CorruptImageException(
            j.child() + " is not the child " + j.childUuid() + " of " + j.parentUuid());
      }
      return j.phase().equals("merge") ? ci.size() : -1;
    }
  }

  private static long finish(
      StorageProvider p, Path dir, Path journal, Journal j, long childSize, Progress progress)
      throws IOException {
    Path child = dir.resolve(j.child());
    Path parent = dir.resolve(j.parent());
    long copied = 0;
    if (j.phase().equals("merge")) {
      if (childSize >= 0) {
        long parentSize;
        try (VhdImage pi = VhdImage.open(p.open(parent, StorageProvider.Access.PEEK), true)) {
          parentSize = pi.size();
        }
        if (parentSize < childSize) {
          Resizer.resize(p, parent, childSize, false, WriteRule.Grant.CHECKED);
        }
        copied = merge(p, child, parent, progress);
      }
      j = j.withPhase("relink");
      p.writeAtomically(journal, j.encode());
    }
    try (VhdImage pi = VhdImage.open(p.open(parent, !j.unhide()), !j.unhide())) {
      for (String name : j.grandchildren()) {
        Path g = dir.resolve(name);
        if (!Files.exists(g)) {
          continue;
        }
        try (VhdImage gi = VhdImage.open(p.open(g, false), false)) {
          UUID current = gi.isDifferencing() ? gi.header().parentUuid() : null;
          if (j.childUuid().equals(current) || j.parentUuid().equals(current)) {
            VhdCreator.ParentLink link = VhdCreator.linkTo(g, parent, pi.footer());
            VhdParent.relink(gi, link.uuid(), link.timestamp(), link.name(), link.relativePath());
          }
        }
      }
      if (j.unhide() && pi.footer().isHidden()) {
        pi.setHidden(false);
      }
    }
    p.delete(child);
    p.delete(journal);
    return copied;
  }

  /**
   * Copies every sector present in {@code child} (one layer) into {@code parent}: whole blocks
   * where the child's block is full, runs of set bits elsewhere, reads overlapped with writes.
   */
  static long merge(StorageProvider p, Path child, Path parent, Progress progress)
      throws IOException {
    try (VhdImage ci = VhdImage.open(p.open(child, true), true);
        VhdImage pi = VhdImage.open(p.open(parent, false), false)) {
      int bs = ci.blockSize();
      if (!pi.isFixed() && pi.blockSize() != bs) {
        throw new io.vdisk.vhd.UnsupportedImageException(
            String.format("%s and %s have different block sizes", child, parent));
      }
      long limit = Math.min(pi.size(), ci.size());
      int sectors = bs / VhdLayout.SECTOR;
      List<CopyPipeline.Piece> pieces = new ArrayList<>();
      for (int b = 0; b < ci.blockCount(); b++) {
        if (!ci.isAllocated(b)) {
          continue;
        }
        SectorBitmap bm = ci.isKnownFull(b) ? null : ci.bitmap(b);
        for (int s = 0; s < sectors; ) {
          int start = bm == null ? s : bm.next(s, sectors, true);
          if (start >= sectors) {
            break;
          }
          int end = bm == null ? sectors : bm.next(start, sectors, false);
          long abs = (long) b * bs + (long) start * VhdLayout.SECTOR;
          int len = (int) Math.min((long) (end - start) * VhdLayout.SECTOR, limit - abs);
          if (len > 0) {
            pieces.add(new CopyPipeline.Piece(abs, len));
          }
          s = end;
        }
      }
      long copied =
          CopyPipeline.run(
              pieces,
              bs,
              (piece, buf) -> {
                ci.readData((int) (piece.offset() / bs), (int) (piece.offset() % bs), buf);
                return true;
              },
              (piece, buf) -> {
                if (pi.isFixed()) {
                  pi.writeFixed(piece.offset(), buf);
                } else {
                  pi.writeSectors(
                      (int) (piece.offset() / bs),
                      (int) (piece.offset() % bs) / VhdLayout.SECTOR,
                      buf);
                }
              },
              progress,
              limit);
      pi.flush();
      return copied;
    }
  }

  /**
   * Images in {@code dir} whose header names {@code parentUuid} as their parent, read from their
   * footers and headers only: an image too damaged to open still counts, so that no one writes or
   * removes a parent it reads through.
   */
  static List<Path> childrenOf(StorageProvider p, Path dir, UUID parentUuid) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.vhd")) {
      for (Path f : ds) {
        if (!Files.isRegularFile(f)) {
          continue;
        }
        try (Storage s = p.open(f, StorageProvider.Access.PEEK)) {
          if (parentUuid.equals(VhdImage.peekParent(s))) {
            out.add(f.toAbsolutePath().normalize());
          }
        } catch (IOException e) {
          // Unreadable: it names no parent we can see.
        }
      }
    }
    return out;
  }

  static Path journalPath(Path dir, UUID childUuid) {
    return dir.resolve(JOURNAL_PREFIX + childUuid + JOURNAL_SUFFIX);
  }
}
