package io.vdisk.engine.sr;

import io.vdisk.engine.ChangedBlocks;
import io.vdisk.engine.Progress;
import io.vdisk.engine.RawDisk;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.Cancellation;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import io.vdisk.vhd.VhdTime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Differential export and import, as {@code xe vdi-export base=} and {@code vdi-import} of a VHD do
 * them. A delta of VDI {@code to} over snapshot {@code base} is a differencing VHD whose footer
 * UUID is {@code to}'s VDI UUID and whose parent is {@code base}'s ({@code ./<base>.vhd} in its
 * locators): exported whole, a VDI's VHD carries its VDI UUID too, so a full export of the snapshot
 * saved as {@code <base>.vhd} beside the delta is the parent every VHD reader resolves. Only the
 * changed sectors are in the delta, with their bitmap bits set (a changed sector that now reads as
 * zeros is written as zeros: the parent's old bytes must not show through).
 */
public final class Deltas {
  private Deltas() {}

  /** The other-config key of a VDI's imported contents (see {@link #importDelta}). */
  static final String CONTENT = "vdisk-content";

  /** What a delta export wrote. */
  public record Result(ChangedBlocks changes, long bytes) {}

  /**
   * Checks that {@code base} is a snapshot of {@code vdi}'s lineage (of the VDI, or of the VDI the
   * snapshot {@code vdi} was taken of) and returns what changed since it.
   */
  static ChangedBlocks changesSince(StorageRepository sr, String vdi, String base)
      throws IOException {
    Catalog.Vdi b = sr.record(base);
    Catalog.Vdi v = sr.record(vdi);
    String lineage = v.snapshot() ? v.snapshotOf() : v.uuid();
    if (!b.snapshot() || b.snapshotOf() == null || !b.snapshotOf().equals(lineage)) {
      throw new SrException(
          SrException.Kind.INVALID,
          "base="
              + base
              + " is not a snapshot of VDI "
              + lineage
              + "; a delta is taken over one of the VDI's own snapshots");
    }
    return Cbt.changed(sr, base, vdi);
  }

  /**
   * Writes the delta of {@code vdi} over snapshot {@code base} to {@code target}: a differencing
   * VHD, or ({@code raw}) a sparse raw file holding only the changed ranges.
   */
  public static Result export(
      StorageRepository sr, String vdi, String base, Path target, boolean raw, Progress progress)
      throws IOException {
    return export(sr, vdi, base, base + ".vhd", target, raw, progress);
  }

  /** As above, the delta VHD's parent locators naming {@code parentFile} (in its directory). */
  static Result export(
      StorageRepository sr,
      String vdi,
      String base,
      String parentFile,
      Path target,
      boolean raw,
      Progress progress)
      throws IOException {
    ChangedBlocks c = changesSince(sr, vdi, base);
    StorageProvider p = StorageProvider.FILES;
    try (VirtualDisk src = sr.openVdi(vdi, true, "vdi-export")) {
      long bytes =
          Publisher.publish(
              p,
              target,
              "delta",
              false,
              tmp ->
                  raw
                      ? writeRaw(p, src, c, tmp, progress)
                      : writeVhd(p, src, c, base, parentFile, vdi, tmp, progress));
      return new Result(c, bytes);
    }
  }

  /**
   * Streams the delta VHD of {@code vdi} over {@code base} to {@code out}: made in a temporary file
   * (a delta is small and written block by block, its BAT first), then copied out and removed.
   */
  public static Result export(
      StorageRepository sr, String vdi, String base, java.io.OutputStream out, Progress progress)
      throws IOException {
    StorageProvider p = StorageProvider.FILES;
    Path tmp =
        io.vdisk.engine.io.TempFiles.next(
            Path.of(System.getProperty("java.io.tmpdir")).resolve("vdisk-delta.vhd"), "stream");
    p.delete(tmp);
    try {
      Result r = export(sr, vdi, base, tmp, false, progress);
      try (io.vdisk.engine.io.Storage s = p.open(tmp, StorageProvider.Access.PEEK)) {
        byte[] chunk = new byte[1 << 20];
        for (long pos = 0; pos < s.size(); ) {
          int n = s.read(ByteBuffer.wrap(chunk), pos);
          if (n <= 0) {
            break;
          }
          out.write(chunk, 0, n);
          pos += n;
        }
      }
      out.flush();
      return r;
    } finally {
      p.delete(tmp);
    }
  }

  private static long writeRaw(
      StorageProvider p, VirtualDisk src, ChangedBlocks c, Path tmp, Progress progress)
      throws IOException {
    try (RawDisk out = RawDisk.create(p, tmp, c.size())) {
      long done = copyRanges(src, c, progress, (off, buf) -> out.write(off, buf));
      out.flush();
      return done;
    }
  }

  private static long writeVhd(
      StorageProvider p,
      VirtualDisk src,
      ChangedBlocks c,
      String base,
      String parentFile,
      String vdi,
      Path tmp,
      Progress progress)
      throws IOException {
    long size = VhdLayout.roundUpToSector(c.size());
    VhdCreator.createDifferencing(
        p,
        tmp,
        new VhdCreator.Spec(
            io.vdisk.vhd.DiskType.DIFFERENCING,
            size,
            VhdLayout.DEFAULT_BLOCK_SIZE,
            UUID.fromString(vdi),
            Instant.now()),
        new VhdCreator.ParentLink(
            UUID.fromString(base), VhdTime.of(Instant.now()), parentFile, "./" + parentFile));
    try (VhdImage out = VhdImage.open(p.open(tmp, StorageProvider.Access.WRITE), false)) {
      int bs = out.blockSize();
      long done =
          copyRanges(
              src,
              c,
              progress,
              (off, buf) -> {
                // split at block boundaries; whole sectors (the last one padded with zeros)
                while (buf.hasRemaining()) {
                  int block = (int) (off / bs);
                  int in = (int) (off % bs);
                  int n = Math.min(buf.remaining(), bs - in);
                  ByteBuffer piece = buf.slice(buf.position(), n);
                  int padded = (int) VhdLayout.roundUpToSector(n);
                  if (padded != n) {
                    ByteBuffer whole = ByteBuffer.allocate(padded);
                    whole.put(piece).clear();
                    piece = whole;
                  }
                  out.writeSectors(block, in / VhdLayout.SECTOR, piece);
                  buf.position(buf.position() + n);
                  off += n;
                }
              });
      out.flush();
      return done;
    }
  }

  @FunctionalInterface
  private interface Sink {
    void write(long offset, ByteBuffer data) throws IOException;
  }

  private static long copyRanges(VirtualDisk src, ChangedBlocks c, Progress progress, Sink sink)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(VhdLayout.DEFAULT_BLOCK_SIZE);
    long total = c.changedBytes();
    long done = 0;
    for (ChangedBlocks.Range r : c.exact()) {
      for (long off = r.offset(); off < r.end(); ) {
        int n = (int) Math.min(buf.capacity(), r.end() - off);
        // a changed range beyond a shrunken source cannot be: VDIs only grow
        buf.clear().limit(n);
        src.read(off, buf);
        buf.flip();
        sink.write(off, buf);
        off += n;
        done += n;
        progress.update(done, total);
        Cancellation.checkpoint();
      }
    }
    return done;
  }

  /** What a delta import did. */
  public record Imported(long bytes, UUID parent, UUID delta) {}

  /**
   * Writes a delta's own sectors (its allocated blocks' set bits, not its parent's) onto {@code
   * vdi}, as xapi's {@code import_raw_vdi} of a VHD does. The VDI must hold the delta's parent: its
   * contents were last imported from that image (a full or delta VHD whose footer UUID the delta
   * names) or it is that VDI itself; {@code force} skips the check. The VDI then holds the delta's
   * contents, and remembers it for the next delta.
   */
  public static Imported importDelta(
      StorageRepository sr, String vdi, Path delta, boolean force, Progress progress)
      throws IOException {
    sr.requireWritable();
    sr.requireWritableVdi(vdi);
    try (VhdImage d =
        VhdImage.open(StorageProvider.FILES.open(delta, StorageProvider.Access.READ), true)) {
      if (!d.isDifferencing()) {
        throw new SrException(SrException.Kind.INVALID, delta + " is not a differencing VHD");
      }
      UUID parent = d.header().parentUuid();
      UUID own = d.footer().uniqueId();
      String content = sr.catalog().config(vdi, CONTENT);
      boolean matches = parent.toString().equals(content) || parent.toString().equals(vdi);
      if (!matches && !force) {
        throw new SrException(
            SrException.Kind.INVALID,
            delta
                + " is a delta over "
                + parent
                + ", but VDI "
                + vdi
                + (content == null ? " holds no imported image" : " holds " + content)
                + "; import its base first (force=true skips this check)");
      }
      long bytes;
      try (VirtualDisk out = sr.openVdi(vdi, false, "vdi-import")) {
        if (d.size() > out.size()) {
          throw new SrException(
              SrException.Kind.INVALID,
              delta
                  + " is a delta of a "
                  + d.size()
                  + "-byte disk; VDI "
                  + vdi
                  + " has "
                  + out.size()
                  + " (vdi-resize it first)");
        }
        bytes = applyOwnSectors(d, out, progress);
        out.flush();
      }
      sr.catalog().transaction(() -> sr.catalog().putConfig(vdi, CONTENT, own.toString()));
      return new Imported(bytes, parent, own);
    }
  }

  static long applyOwnSectors(VhdImage d, VirtualDisk out, Progress progress) throws IOException {
    int bs = d.blockSize();
    int spb = bs / VhdLayout.SECTOR;
    List<Integer> blocks = new java.util.ArrayList<>();
    d.allocatedSet().forEach((int b) -> blocks.add(b));
    ByteBuffer buf = ByteBuffer.allocateDirect(bs);
    long bytes = 0;
    int doneBlocks = 0;
    for (int b : blocks) {
      SectorBitmap bm = d.bitmap(b);
      long blockStart = (long) b * bs;
      int i = bm.next(0, spb, true);
      while (i < spb) {
        int j = bm.next(i, spb, false);
        long off = blockStart + (long) i * VhdLayout.SECTOR;
        long end = Math.min(blockStart + (long) j * VhdLayout.SECTOR, d.size());
        if (end > off) {
          buf.clear().limit((int) (end - off));
          d.readData(b, i * VhdLayout.SECTOR, buf);
          buf.flip();
          out.write(off, buf);
          bytes += end - off;
        }
        i = bm.next(j, spb, true);
      }
      progress.update(++doneBlocks, blocks.size());
      Cancellation.checkpoint();
    }
    return bytes;
  }
}
