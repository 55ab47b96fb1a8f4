package io.vdisk.engine;

import io.vdisk.engine.image.DynamicLayout;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.Cancellation;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.Batmap;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import io.vdisk.vhd.VhdTime;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Disks to and from byte streams (pipes, sockets, stdout), where nothing can seek: a raw image in
 * order, zeros included; a dynamic VHD laid out as vdisk writes files, its BAT computed from the
 * extents before any data is written (no data is read twice); and the reverse for imports.
 *
 * <p>A streamed VHD holds every block that a DATA extent touches, whole, with an all-ones bitmap;
 * an allocated block that happens to be zeros is written as zeros, since knowing that would mean
 * reading it before the BAT is out (vhd-tool's {@code stream} does the same). Every write error of
 * the stream (a closed pipe, a full disk) propagates: nothing is reported as done that is not.
 */
public final class Streams {
  private static final int PIECE = 1 << 20;

  private Streams() {}

  /** Writes every byte of {@code src}, in order. Returns the bytes written. */
  public static long writeRaw(VirtualDisk src, OutputStream out, Progress progress)
      throws IOException {
    long size = src.size();
    byte[] buf = new byte[PIECE];
    byte[] zeros = new byte[PIECE];
    for (Extent e : src.extents(0, size)) {
      for (long pos = e.offset(); pos < e.end(); ) {
        int n = (int) Math.min(PIECE, e.end() - pos);
        if (e.kind() == Extent.Kind.DATA) {
          src.read(pos, ByteBuffer.wrap(buf, 0, n));
          out.write(buf, 0, n);
        } else {
          out.write(zeros, 0, n);
        }
        pos += n;
        progress.update(pos, size);
        Cancellation.checkpoint();
      }
    }
    out.flush();
    return size;
  }

  /**
   * Writes {@code src} as a dynamic VHD (blktap layout, creator {@code tap} 1.3, 2 MiB blocks),
   * sequentially. Returns the bytes of block data written.
   */
  public static long writeVhd(VirtualDisk src, OutputStream out, Progress progress)
      throws IOException {
    return writeVhd(src, out, progress, UUID.randomUUID());
  }

  /** As above, with {@code id} as the footer UUID. */
  public static long writeVhd(VirtualDisk src, OutputStream out, Progress progress, UUID id)
      throws IOException {
    long size = VhdLayout.roundUpToSector(src.size());
    VhdCreator.validateSize(size);
    int bs = VhdLayout.DEFAULT_BLOCK_SIZE;
    int entries = (int) VhdLayout.blocksFor(size, bs);
    List<Integer> blocks = new ArrayList<>();
    for (Extent e : src.extents(0, src.size())) {
      if (e.kind() != Extent.Kind.DATA) {
        continue;
      }
      for (long b = e.offset() / bs; b * bs < e.end(); b++) {
        if (blocks.isEmpty() || blocks.get(blocks.size() - 1) < b) {
          blocks.add((int) b);
        }
      }
    }
    DynamicLayout layout = DynamicLayout.of(entries, List.of());
    int bitmapBytes = VhdLayout.bitmapBytes(bs);
    BlockAllocationTable bat = BlockAllocationTable.empty(entries);
    Batmap map = Batmap.empty(layout.batmapBytes());
    long next = layout.end();
    long[] starts = new long[blocks.size()];
    for (int i = 0; i < blocks.size(); i++) {
      int b = blocks.get(i);
      starts[i] = VhdLayout.blockStart(next, bitmapBytes);
      bat.set(b, starts[i] / VhdLayout.SECTOR);
      map.setFull(b);
      next = starts[i] + bitmapBytes + bs;
    }
    Footer footer =
        Footer.create(DiskType.DYNAMIC, size, id, VhdTime.of(Instant.now()), Footer.SIZE);
    DynamicHeader header = DynamicHeader.create(layout.tableOffset(), entries, bs);
    ByteBuffer meta = layout.metadata(footer, header, bat, map);
    long pos = write(out, meta, 0);
    byte[] bitmap = new byte[bitmapBytes];
    SectorBitmap.full(bs).toBuffer().get(bitmap);
    byte[] data = new byte[bs];
    long written = 0;
    for (int i = 0; i < blocks.size(); i++) {
      pos = pad(out, pos, starts[i]);
      long at = (long) blocks.get(i) * bs;
      int n = (int) Math.min(bs, src.size() - at);
      java.util.Arrays.fill(data, n, bs, (byte) 0);
      src.read(at, ByteBuffer.wrap(data, 0, n));
      out.write(bitmap);
      out.write(data);
      pos += bitmapBytes + bs;
      written += bs;
      progress.update(Math.min(at + bs, size), size);
      Cancellation.checkpoint();
    }
    pos = pad(out, pos, next);
    write(out, footer.toBuffer(), pos);
    out.flush();
    progress.update(size, size);
    return written;
  }

  private static long write(OutputStream out, ByteBuffer b, long pos) throws IOException {
    int n = b.remaining();
    byte[] bytes = new byte[n];
    b.get(bytes);
    out.write(bytes);
    return pos + n;
  }

  private static long pad(OutputStream out, long pos, long to) throws IOException {
    if (to > pos) {
      out.write(new byte[(int) (to - pos)]);
    }
    return Math.max(pos, to);
  }

  // ---- reading --------------------------------------------------------------------------------

  /**
   * Copies a raw image from {@code in} onto {@code out} from offset 0, skipping zero pieces (the
   * target is new and sparse); refuses a stream longer than the disk. Returns the bytes read.
   */
  public static long readRaw(InputStream in, VirtualDisk out, Progress progress)
      throws IOException {
    byte[] buf = new byte[PIECE];
    long pos = 0;
    while (true) {
      int n = in.readNBytes(buf, 0, PIECE);
      if (n == 0) {
        return pos;
      }
      if (pos + n > out.size()) {
        throw new IOException(
            "the input holds more than the disk's " + out.size() + " bytes; nothing was changed");
      }
      ByteBuffer piece = ByteBuffer.wrap(buf, 0, n);
      if (!Zeros.isZero(piece.duplicate())) {
        out.write(pos, piece);
      }
      pos += n;
      progress.update(pos, out.size());
      Cancellation.checkpoint();
    }
  }

  /**
   * Copies a VHD read from a stream onto {@code out}: a dynamic VHD (its footer copy, header and
   * BAT come first; blocks are read in file order, whatever order the BAT lists them in) or a fixed
   * one (raw data, then the footer, which must describe what came before it). A differencing VHD is
   * refused: without its parent it is not a disk. Returns the virtual size.
   */
  public static long readVhd(InputStream in, VirtualDisk out, Progress progress)
      throws IOException {
    Sequential s = new Sequential(in);
    ByteBuffer first = s.read(Footer.SIZE);
    if (!Footer.hasCookie(first.duplicate())) {
      return readFixed(s, first, out, progress);
    }
    Footer footer = Footer.parse(first);
    if (!footer.checksumValid()) {
      throw new io.vdisk.vhd.CorruptImageException(
          "input: footer at 0: checksum expected 0x"
              + Integer.toHexString(footer.computedChecksum())
              + ", found 0x"
              + Integer.toHexString(footer.storedChecksum()));
    }
    if (footer.type() == DiskType.DIFFERENCING) {
      throw new io.vdisk.vhd.UnsupportedImageException(
          "input: a differencing VHD is no whole disk without its parent; import a flattened one"
              + " (vdisk convert -O vhd)");
    }
    if (footer.type() != DiskType.DYNAMIC) {
      throw new io.vdisk.vhd.UnsupportedImageException(
          "input: footer disk type " + footer.diskType() + " is not dynamic");
    }
    long size = footer.currentSize();
    s.skipTo(footer.dataOffset());
    DynamicHeader h = DynamicHeader.parse(s.read(DynamicHeader.SIZE));
    if (!h.checksumValid()) {
      throw new io.vdisk.vhd.CorruptImageException("input: dynamic header: bad checksum");
    }
    long bs = h.blockSizeUnsigned();
    long entries = h.entries();
    if (!VhdLayout.isPowerOfTwo(bs)
        || bs < VhdLayout.MIN_BLOCK_SIZE
        || bs > VhdLayout.DEFAULT_BLOCK_SIZE
        || entries < VhdLayout.blocksFor(size, (int) bs)
        || entries > VhdLayout.blocksFor(VhdLayout.MAX_SIZE, (int) bs)) {
      throw new io.vdisk.vhd.CorruptImageException(
          "input: dynamic header: block size " + bs + " or " + entries + " BAT entries unusable");
    }
    s.skipTo(h.tableOffset());
    BlockAllocationTable bat =
        BlockAllocationTable.parse(s.read((int) VhdLayout.batBytes(entries)), (int) entries);
    List<long[]> order = new ArrayList<>();
    for (int b = 0; b < bat.size(); b++) {
      if (bat.isAllocated(b) && (long) b * bs < size) {
        order.add(new long[] {bat.sectorOf(b) * VhdLayout.SECTOR, b});
      }
    }
    order.sort((x, y) -> Long.compare(x[0], y[0]));
    int bitmapBytes = VhdLayout.bitmapBytes((int) bs);
    int sectors = (int) (bs / VhdLayout.SECTOR);
    for (long[] o : order) {
      if (o[0] < s.position()) {
        throw new io.vdisk.vhd.CorruptImageException(
            String.format(
                "input: BAT entry %d at 0x%X overlaps metadata or another block", o[1], o[0]));
      }
      s.skipTo(o[0]);
      SectorBitmap bm = SectorBitmap.parse(s.read(bitmapBytes), (int) bs);
      ByteBuffer data = s.read((int) bs);
      long base = o[1] * bs;
      for (int sec = bm.next(0, sectors, true); sec < sectors; ) {
        int end = bm.next(sec, sectors, false);
        long at = base + (long) sec * VhdLayout.SECTOR;
        int len = (int) Math.min((long) (end - sec) * VhdLayout.SECTOR, size - at);
        if (len > 0) {
          ByteBuffer run = data.slice(sec * VhdLayout.SECTOR, len);
          if (!Zeros.isZero(run.duplicate())) {
            writeInside(out, at, run);
          }
        }
        sec = end >= sectors ? sectors : bm.next(end, sectors, true);
      }
      progress.update(Math.min(base + bs, size), size);
      Cancellation.checkpoint();
    }
    return size;
  }

  private static long readFixed(Sequential s, ByteBuffer first, VirtualDisk out, Progress progress)
      throws IOException {
    // Data until the end, the last 512 bytes the footer: one sector is always held back, at the
    // front of the buffer, and what is read goes after it.
    byte[] buf = new byte[Footer.SIZE + PIECE];
    first.get(buf, 0, Footer.SIZE);
    long pos = 0;
    while (true) {
      int n = s.in.readNBytes(buf, Footer.SIZE, PIECE);
      if (n == 0) {
        break;
      }
      if (pos + n > out.size()) {
        throw new IOException(
            "input: more data than the disk's " + out.size() + " bytes; nothing was changed");
      }
      ByteBuffer piece = ByteBuffer.wrap(buf, 0, n);
      if (!Zeros.isZero(piece.duplicate())) {
        out.write(pos, piece);
      }
      pos += n;
      System.arraycopy(buf, n, buf, 0, Footer.SIZE);
      progress.update(pos, out.size());
      Cancellation.checkpoint();
    }
    byte[] held = java.util.Arrays.copyOf(buf, Footer.SIZE);
    ByteBuffer fb = ByteBuffer.wrap(held);
    if (!Footer.hasCookie(fb.duplicate())) {
      throw new io.vdisk.vhd.CorruptImageException(
          "input: no VHD footer at the start or at the end (is it raw? use format=raw)");
    }
    Footer f = Footer.parse(fb);
    if (!f.checksumValid() || f.type() != DiskType.FIXED || f.currentSize() != pos) {
      throw new io.vdisk.vhd.CorruptImageException(
          String.format(
              "input: trailing footer of a fixed VHD expected for %d bytes of data, found type %d"
                  + " size %d%s",
              pos, f.diskType(), f.currentSize(), f.checksumValid() ? "" : ", bad checksum"));
    }
    return pos;
  }

  /**
   * Writes a run of a streamed VHD; past the target's end only zeros may lie (qemu rounds a VHD's
   * size up to its CHS geometry, so its images are often a little larger than the disk they hold).
   */
  private static void writeInside(VirtualDisk out, long at, ByteBuffer run) throws IOException {
    long inside = Math.max(0, Math.min(run.remaining(), out.size() - at));
    if (inside < run.remaining()
        && !Zeros.isZero(
            run.slice(run.position() + (int) inside, run.remaining() - (int) inside))) {
      throw new IOException(
          "input: data at byte "
              + Math.max(at, out.size())
              + " lies past the target's "
              + out.size()
              + " bytes; nothing was changed");
    }
    if (inside > 0) {
      out.write(at, run.slice(run.position(), (int) inside));
    }
  }

  /** A stream read forward only, with its position. */
  private static final class Sequential {
    final InputStream in;
    private long position;

    Sequential(InputStream in) {
      this.in = in;
    }

    long position() {
      return position;
    }

    ByteBuffer read(int n) throws IOException {
      byte[] b = in.readNBytes(n);
      if (b.length != n) {
        throw new EOFException(
            "input ends at byte " + (position + b.length) + " inside a VHD (truncated)");
      }
      position += n;
      return ByteBuffer.wrap(b);
    }

    void skipTo(long at) throws IOException {
      if (at < position) {
        throw new io.vdisk.vhd.CorruptImageException(
            String.format(
                "input: structure at 0x%X comes before 0x%X, which a stream has passed",
                at, position));
      }
      long left = at - position;
      byte[] scratch = new byte[(int) Math.min(left, 1 << 16)];
      while (left > 0) {
        int n = in.read(scratch, 0, (int) Math.min(left, scratch.length));
        if (n < 0) {
          throw new EOFException("input ends at byte " + (at - left) + " (truncated)");
        }
        left -= n;
      }
      position = at;
    }
  }
}
