package io.vdisk.engine;

import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Merges a differencing image into its parent, relinks its children to that parent, and removes it,
 * as XenServer's GC does (vhd-format-notes §3.3), journaled so that a crash at any write is
 * finished by the next coalesce or {@code check --repair}.
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

  /** What a coalesce did. */
  public record Result(Path child, Path parent, List<Path> relinked, long bytesCopied) {}

  /** The journal of one coalesce. */
  record Journal(
      String phase,
      Path child,
      UUID childUuid,
      Path parent,
      UUID parentUuid,
      boolean unhide,
      List<Path> grandchildren) {
    byte[] encode() {
      StringBuilder sb = new StringBuilder("vdisk-coalesce 1\n");
      sb.append("phase ").append(phase).append('\n');
      sb.append("child ").append(child).append('\n');
      sb.append("child-uuid ").append(childUuid).append('\n');
      sb.append("parent ").append(parent).append('\n');
      sb.append("parent-uuid ").append(parentUuid).append('\n');
      sb.append("unhide ").append(unhide).append('\n');
      for (Path g : grandchildren) {
        sb.append("grandchild ").append(g).append('\n');
      }
      return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Journal decode(Path file, String text) throws CorruptImageException {
      String phase = null;
      Path child = null;
      Path parent = null;
      UUID cu = null;
      UUID pu = null;
      boolean unhide = false;
      List<Path> g = new ArrayList<>();
      String[] lines = text.split("\n");
      if (lines.length == 0 || !lines[0].equals("vdisk-coalesce 1")) {
        throw new CorruptImageException(file + ": not a vdisk coalesce journal");
      }
      for (String line : lines) {
        int sp = line.indexOf(' ');
        if (sp < 0) {
          continue;
        }
        String k = line.substring(0, sp);
        String v = line.substring(sp + 1);
        switch (k) {
          case "phase" -> phase = v;
          case "child" -> child = file.getFileSystem().getPath(v);
          case "child-uuid" -> cu = UUID.fromString(v);
          case "parent" -> parent = file.getFileSystem().getPath(v);
          case "parent-uuid" -> pu = UUID.fromString(v);
          case "unhide" -> unhide = Boolean.parseBoolean(v);
          case "grandchild" -> g.add(file.getFileSystem().getPath(v));
          default -> {}
        }
      }
      if (phase == null || child == null || parent == null || cu == null || pu == null) {
        throw new CorruptImageException(file + ": incomplete coalesce journal");
      }
      return new Journal(phase, child, cu, parent, pu, unhide, g);
    }

    Journal withPhase(String p) {
      return new Journal(p, child, childUuid, parent, parentUuid, unhide, grandchildren);
    }
  }

  public static Result coalesce(StorageProvider p, Path child, boolean force) throws IOException {
    return coalesce(p, child, force, Converter.Progress.NONE);
  }

  /** As {@link #coalesce(StorageProvider, Path, boolean)}, reporting the merge's progress. */
  public static Result coalesce(
      StorageProvider p, Path child, boolean force, Converter.Progress progress)
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
    return run(p, child, false, Converter.Progress.NONE);
  }

  private static Result run(
      StorageProvider p, Path child, boolean force, Converter.Progress progress)
      throws IOException {
    Path c = child.toAbsolutePath().normalize();
    recover(p, c.getParent());
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
    if (!force) {
      List<Path> siblings = childrenOf(p, parent.getParent(), parentUuid);
      siblings.remove(c);
      if (!siblings.isEmpty()) {
        throw new java.nio.file.AccessDeniedException(
            parent.toString(),
            null,
            "is also the parent of "
                + siblings.get(0).getFileName()
                + "; a base shared by siblings is never written (--force to override)");
      }
    }
    List<Path> grandchildren = childrenOf(p, c.getParent(), childUuid);
    Journal j =
        new Journal(
            "merge",
            c,
            childUuid,
            parent,
            parentUuid,
            !childHidden && grandchildren.isEmpty(),
            grandchildren);
    Path journal = journalPath(c.getParent(), childUuid);
    p.writeAtomically(journal, j.encode());
    long copied = finish(p, journal, j, childSize, progress);
    return new Result(c, parent, grandchildren, copied);
  }

  /** Finishes every journaled coalesce in {@code dir}; returns how many there were. */
  public static int recover(StorageProvider p, Path dir) throws IOException {
    int n = 0;
    try (DirectoryStream<Path> ds =
        Files.newDirectoryStream(dir, JOURNAL_PREFIX + "*" + JOURNAL_SUFFIX)) {
      for (Path journal : ds) {
        Journal j = Journal.decode(journal, Files.readString(journal, StandardCharsets.UTF_8));
        long size = -1;
        if (j.phase().equals("merge") && Files.exists(j.child())) {
          try (VhdImage ci = VhdImage.open(p.open(j.child(), StorageProvider.Access.PEEK), true)) {
            size = ci.size();
          }
        }
        finish(p, journal, j, size, Converter.Progress.NONE);
        n++;
      }
    }
    return n;
  }

  private static long finish(
      StorageProvider p, Path journal, Journal j, long childSize, Converter.Progress progress)
      throws IOException {
    long copied = 0;
    if (j.phase().equals("merge")) {
      if (childSize >= 0) {
        long parentSize;
        try (VhdImage pi = VhdImage.open(p.open(j.parent(), StorageProvider.Access.PEEK), true)) {
          parentSize = pi.size();
        }
        if (parentSize < childSize) {
          Resizer.resize(p, j.parent(), childSize, false, WriteRule.Grant.CHECKED);
        }
        copied = merge(p, j.child(), j.parent(), progress);
      }
      j = j.withPhase("relink");
      p.writeAtomically(journal, j.encode());
    }
    try (VhdImage pi = VhdImage.open(p.open(j.parent(), !j.unhide()), !j.unhide())) {
      for (Path g : j.grandchildren()) {
        if (!Files.exists(g)) {
          continue;
        }
        try (VhdImage gi = VhdImage.open(p.open(g, false), false)) {
          UUID current = gi.header().parentUuid();
          if (current.equals(j.childUuid()) || current.equals(j.parentUuid())) {
            VhdCreator.ParentLink link = VhdCreator.linkTo(g, j.parent(), pi.footer());
            VhdParent.relink(gi, link.uuid(), link.timestamp(), link.name(), link.relativePath());
          }
        }
      }
      if (j.unhide() && pi.footer().isHidden()) {
        pi.setHidden(false);
      }
    }
    p.delete(j.child());
    p.delete(journal);
    return copied;
  }

  /**
   * Copies every sector present in {@code child} (one layer) into {@code parent}: whole blocks
   * where the child's block is full, runs of set bits elsewhere, reads overlapped with writes.
   */
  static long merge(StorageProvider p, Path child, Path parent, Converter.Progress progress)
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

  /** Images in {@code dir} whose header names {@code parentUuid} as their parent. */
  static List<Path> childrenOf(StorageProvider p, Path dir, UUID parentUuid) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.vhd")) {
      for (Path f : ds) {
        if (!Files.isRegularFile(f)) {
          continue;
        }
        try (VhdImage img = VhdImage.open(p.open(f, StorageProvider.Access.PEEK), true)) {
          if (img.isDifferencing() && img.header().parentUuid().equals(parentUuid)) {
            out.add(f.toAbsolutePath().normalize());
          }
        } catch (IOException e) {
          // Not a readable VHD: not a child of anything we can relink.
        }
      }
    }
    return out;
  }

  static Path journalPath(Path dir, UUID childUuid) {
    return dir.resolve(JOURNAL_PREFIX + childUuid + JOURNAL_SUFFIX);
  }
}
