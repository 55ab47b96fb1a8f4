package io.vdisk.engine.image;

import io.vdisk.engine.io.ReadOnlyDiskException;
import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.Transfers;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.Batmap;
import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.BitSet;
import java.util.Map;
import org.roaringbitmap.RoaringBitmap;

/**
 * One VHD file as a layer: its footer, header, BAT, batmap and sector bitmaps, and reads and writes
 * of its own sectors. It knows nothing of parents; {@link io.vdisk.engine.DiskChain} composes
 * layers.
 *
 * <h2>Opening</h2>
 *
 * A dynamic or differencing image is described by the footer copy at offset 0 when that copy is
 * valid (qemu reads it first; it is what survives a crash, as in XenServer); the trailing footer is
 * the fallback. A trailing footer that is missing, torn or different is reported by {@link
 * #trailerValid()} and rewritten by the next {@link #flush()} of a writable image. A fixed image
 * has only the trailing footer.
 *
 * <h2>Write ordering (crash safety)</h2>
 *
 * Writes go to data sectors at once; metadata changes (new BAT entries, bitmap bits, batmap bits,
 * the trailing footer) are held in memory and committed by {@link #flush()} in this order:
 *
 * <ol>
 *   <li>fsync: every data sector written so far is durable;
 *   <li>write changed sector bitmaps, fsync: no bit is ever durable before its data, and the bitmap
 *       of a new block is durable before any BAT entry points at it;
 *   <li>write the changed 512-byte BAT sectors and the batmap (map, then header with checksum);
 *   <li>write the trailing footer after the last block, cut the file after it, fsync.
 * </ol>
 *
 * A new block is placed after all metadata and all blocks (never over another tool's batmap or
 * locators), with its data 4 KiB-aligned as blktap does; the sectors of it not yet written are a
 * hole and read as zeros. A crash at any point therefore leaves: BAT entries that point only at
 * durable blocks, bits that are set only over durable data, and at worst a torn trailing footer,
 * which opening tolerates (the copy at offset 0 is never changed by allocation). Unflushed writes
 * may be lost; flushed ones never are.
 *
 * <p>A new block of a dynamic (non-differencing) image gets an all-ones bitmap, as qemu and
 * ocaml-vhd do: its unwritten sectors are holes that read as zeros, which is their content. A
 * differencing image gets exact per-sector bits, so unwritten sectors still come from the parent. A
 * write into an existing block sets the bits of the sectors it covers in every kind of image,
 * whoever allocated the block: images made by tapdisk and {@code vhd-util coalesce} keep partial
 * bitmaps in dynamic images, where a clear bit reads as zeros.
 */
public final class VhdImage implements Closeable {
  private final Storage storage;
  private final boolean readOnly;
  private DynamicHeader header;
  private final BlockAllocationTable bat;
  private final int blockSize;
  private final int bitmapBytes;
  private final BatmapHeader batmapHeader;
  private final Batmap batmap;
  private final long batmapHeaderOffset;
  private final RoaringBitmap knownFull = new RoaringBitmap();
  private final BitmapCache bitmaps = new BitmapCache();
  private final BitSet dirtyBatSectors = new BitSet();
  private Footer footer;
  private long dataEnd;
  private boolean trailerValid;
  private boolean copyAtZeroValid;
  private boolean batmapValid;
  private boolean batmapDirty;
  private boolean dataDirty;
  private boolean trailerDirty;
  private boolean closed;
  private boolean raw;

  private VhdImage(VhdOpener.OpenState s, Storage storage, boolean readOnly) {
    this.storage = storage;
    this.readOnly = readOnly;
    this.footer = s.footer();
    this.header = s.header();
    this.bat = s.bat();
    this.blockSize = s.blockSize();
    this.bitmapBytes = s.header() == null ? 0 : VhdLayout.bitmapBytes(s.blockSize());
    this.batmapHeader = s.batmapHeader();
    this.batmap = s.batmap() == null ? null : Batmap.wrap(s.batmap());
    this.batmapHeaderOffset = s.batmapHeaderOffset();
    this.batmapValid = s.batmapValid();
    this.dataEnd = s.dataEnd();
    this.trailerValid = s.trailerValid();
    this.copyAtZeroValid = s.copyAtZeroValid();
    if (batmapValid && batmap != null) {
      for (int i = 0; i < bat.size(); i++) {
        if (bat.isAllocated(i) && batmap.isFull(i)) {
          knownFull.add(i);
        }
      }
    }
    if (!readOnly && (!trailerValid || (header != null && !copyAtZeroValid))) {
      trailerDirty = true;
    }
    if (!readOnly && batmapHeader != null && !batmapValid) {
      // A batmap torn by a crash is not trusted: start from "nothing known full" (always true)
      // and let bitmaps that read as full set their bits again. Written at the next flush.
      batmap.clearAll();
      batmapDirty = true;
    }
  }

  /** Opens a raw file as a parent layer (see {@link #isRaw}); the storage is closed on failure. */
  static VhdImage openRaw(Storage storage) throws IOException {
    try {
      VhdImage img = new VhdImage(VhdOpener.readRaw(storage), storage, true);
      img.raw = true;
      return img;
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  /**
   * The parent UUID a differencing image names, from its footer and header only (no BAT read, and
   * nothing else vetted): for listing a directory's children cheaply, and for seeing that an image
   * names a parent even when it is too damaged to open. Null for any other file.
   */
  public static java.util.UUID peekParent(Storage storage) throws IOException {
    return VhdOpener.parentOf(storage);
  }

  /** Opens the image in {@code storage}; the storage is closed if opening fails. */
  public static VhdImage open(Storage storage, boolean readOnly) throws IOException {
    try {
      return new VhdImage(VhdOpener.read(storage), storage, readOnly);
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  // ---- description ------------------------------------------------------------------------

  public String name() {
    return storage.name();
  }

  public Footer footer() {
    return footer;
  }

  /** The dynamic header, or {@code null} for a fixed image. */
  public DynamicHeader header() {
    return header;
  }

  public DiskType type() {
    return footer.type();
  }

  public boolean isFixed() {
    return header == null;
  }

  /**
   * True for a raw file read as the parent of a differencing image whose parent UUID is all zeros
   * (libvhd's {@code vhd_parent_raw}): read-only, its footer is vdisk's description, not the
   * file's.
   */
  public boolean isRaw() {
    return raw;
  }

  public boolean isDifferencing() {
    return footer.type() == DiskType.DIFFERENCING;
  }

  public long size() {
    return footer.currentSize();
  }

  public int blockSize() {
    return blockSize;
  }

  /** Number of blocks: BAT entries, or for a fixed image the blocks covering its size. */
  public int blockCount() {
    return bat == null ? (int) VhdLayout.blocksFor(size(), blockSize) : bat.size();
  }

  public boolean isReadOnly() {
    return readOnly;
  }

  /** False when the trailing footer is missing, torn or differs from the copy at offset 0. */
  public boolean trailerValid() {
    return trailerValid;
  }

  public boolean copyAtZeroValid() {
    return copyAtZeroValid;
  }

  public boolean hasBatmap() {
    return batmapHeader != null;
  }

  public boolean batmapValid() {
    return batmapValid;
  }

  public BatmapHeader batmapHeader() {
    return batmapHeader;
  }

  /** Offset where the next trailing footer goes: the end of all metadata and blocks. */
  public long dataEnd() {
    return dataEnd;
  }

  public long fileSize() throws IOException {
    return storage.size();
  }

  public BlockAllocationTable bat() {
    return bat;
  }

  Storage storage() {
    return storage;
  }

  public synchronized int allocatedBlocks() {
    return bat == null ? blockCount() : bat.allocatedCount();
  }

  /** Where the batmap header sits (meaningful when {@link #hasBatmap}). */
  public long batmapHeaderOffset() {
    return batmapHeaderOffset;
  }

  /**
   * Writes {@code data} (whole sectors) after every structure and block, where a new block would
   * go, moves the trailing footer after it, and makes both durable; returns where it went. For
   * metadata that has no safe place left in the file (a relinked locator).
   */
  synchronized long appendMetadata(ByteBuffer data) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    flush();
    long at = VhdLayout.roundUpToSector(dataEnd);
    storage.write(data, at);
    dataEnd = at + VhdLayout.roundUpToSector(data.limit());
    writeFooters(false);
    storage.force();
    return at;
  }

  // ---- block queries ----------------------------------------------------------------------

  public synchronized boolean isAllocated(int block) {
    if (bat == null) {
      return block < blockCount();
    }
    return block < bat.size() && bat.isAllocated(block);
  }

  /** True when every sector of the block is known to be in this layer. */
  public synchronized boolean isKnownFull(int block) {
    return bat == null ? block < blockCount() : knownFull.contains(block);
  }

  /** A copy of the allocated blocks, for the chain's ownership index. */
  public synchronized RoaringBitmap allocatedSet() {
    RoaringBitmap r = new RoaringBitmap();
    if (bat == null) {
      r.add(0L, (long) blockCount());
    } else {
      for (int i = 0; i < bat.size(); i++) {
        if (bat.isAllocated(i)) {
          r.add(i);
        }
      }
    }
    return r;
  }

  public synchronized RoaringBitmap knownFullSet() {
    if (bat == null) {
      RoaringBitmap r = new RoaringBitmap();
      r.add(0L, (long) blockCount());
      return r;
    }
    return knownFull.clone();
  }

  /** The sector bitmap of an allocated block (a shared instance: do not modify). */
  public synchronized SectorBitmap bitmap(int block) throws IOException {
    if (bat == null) {
      return SectorBitmap.full(blockSize);
    }
    SectorBitmap b = bitmaps.get(block);
    if (b == null) {
      ByteBuffer buf = ByteBuffer.allocate(bitmapBytes);
      readFully(buf, bitmapOffset(block));
      buf.flip();
      b = SectorBitmap.parse(buf, blockSize);
      bitmaps.putRead(block, b);
      if (b.isFull()) {
        knownFull.add(block);
      }
    }
    return b;
  }

  /**
   * Absolute file offset of the block's bitmap. Not synchronized: readers on the hot path (a
   * chain's reads, FUSE) would queue on the image's lock. A BAT entry is an int, read atomically;
   * {@link io.vdisk.engine.DiskChain}'s lock orders its reads after the writes that allocate.
   */
  public long bitmapOffset(int block) {
    return bat.sectorOf(block) * VhdLayout.SECTOR;
  }

  /** Absolute file offset of the block's first data byte (not synchronized; see above). */
  public long dataOffset(int block) {
    if (bat == null) {
      return (long) block * blockSize;
    }
    return bat.sectorOf(block) * VhdLayout.SECTOR + bitmapBytes;
  }

  // ---- I/O --------------------------------------------------------------------------------

  /**
   * Reads from an allocated block at byte {@code offsetInBlock}, ignoring bitmaps. Bytes past the
   * end of the file (a block whose tail was never written before a crash) read as zeros.
   */
  public void readData(int block, int offsetInBlock, ByteBuffer dst) throws IOException {
    long pos = dataOffset(block) + offsetInBlock;
    if (bat == null) {
      long limit = size();
      if (pos >= limit) {
        Zeros.fill(dst);
        return;
      }
      if (pos + dst.remaining() > limit) {
        ByteBuffer head = dst.slice(dst.position(), (int) (limit - pos));
        readFully(head, pos);
        dst.position(dst.position() + head.capacity());
        Zeros.fill(dst);
        return;
      }
    }
    readFully(dst, pos);
  }

  /**
   * Writes {@code length} bytes of an allocated block from byte {@code offsetInBlock} to {@code
   * target}, ignoring bitmaps, as {@link #readData} would read them: the kernel copies them.
   */
  public void transferData(int block, int offsetInBlock, int length, WritableByteChannel target)
      throws IOException {
    long sent = storage.transferTo(dataOffset(block) + offsetInBlock, length, target);
    Transfers.zeros(length - sent, target); // the tail of a block cut short by a crash
  }

  private void readFully(ByteBuffer dst, long pos) throws IOException {
    storage.read(dst, pos);
    Zeros.fill(dst);
  }

  /**
   * Writes whole sectors into a block, allocating it if needed and setting the written sectors'
   * bits. {@code src.remaining()} must be a multiple of 512 within the block.
   */
  public synchronized void writeSectors(int block, int sectorInBlock, ByteBuffer src)
      throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    int count = src.remaining() / VhdLayout.SECTOR;
    if (src.remaining() % VhdLayout.SECTOR != 0
        || sectorInBlock < 0
        || sectorInBlock + count > blockSize / VhdLayout.SECTOR
        || block < 0
        || block >= blockCount()) {
      throw new IllegalArgumentException(
          "bad sector write: block " + block + " sector " + sectorInBlock + " count " + count);
    }
    if (bat != null && !bat.isAllocated(block)) {
      allocate(block);
    }
    storage.write(src, dataOffset(block) + (long) sectorInBlock * VhdLayout.SECTOR);
    dataDirty = true;
    // Every block's bitmap is honoured, whoever allocated it: tapdisk, libvhd and vhd-util leave
    // partial bitmaps in dynamic images too, and a sector whose bit stays clear reads as zeros
    // (vdisk, libvhd, tapdisk), so its data would be lost.
    if (bat != null && !knownFull.contains(block)) {
      SectorBitmap current = bitmap(block);
      if (current.next(sectorInBlock, sectorInBlock + count, false) < sectorInBlock + count) {
        SectorBitmap next = current.copy();
        next.setRange(sectorInBlock, sectorInBlock + count);
        bitmaps.putChanged(block, next);
        if (next.isFull()) {
          markFull(block);
        }
      }
    }
    if (bitmaps.overLimit()) {
      flush();
    }
  }

  /** Reserves the next block position after everything; the block becomes visible at flush. */
  private void allocate(int block) throws IOException {
    long start = VhdLayout.blockStart(dataEnd, bitmapBytes);
    long end = Math.addExact(start, (long) bitmapBytes + blockSize);
    if (start / VhdLayout.SECTOR >= 0xFFFF_FFFFL) {
      throw new UnsupportedImageException(
          name() + ": no room for block " + block + ": file offset past the 2 TiB BAT limit");
    }
    if (start > dataEnd) {
      // Clear the gap, which may hold the old trailing footer: no stale footer stays behind.
      storage.write(ByteBuffer.allocate((int) (start - dataEnd)), dataEnd);
    }
    long fileSize = storage.size();
    if (start < fileSize) {
      // Space left by a crashed session (written, never referenced) is not a hole: zero it, or
      // its old bytes would show through the unwritten sectors of the new block.
      zeroRange(start, Math.min(end, fileSize));
    }
    bat.set(block, start / VhdLayout.SECTOR);
    dirtyBatSectors.set(block / 128);
    dataEnd = end;
    trailerDirty = true;
    trailerValid = false;
    SectorBitmap bm =
        isDifferencing() ? SectorBitmap.empty(blockSize) : SectorBitmap.full(blockSize);
    bitmaps.putChanged(block, bm);
    if (!isDifferencing()) {
      markFull(block);
    }
  }

  private void zeroRange(long from, long to) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(to - from, 1 << 20));
    for (long p = from; p < to; p += zeros.capacity()) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), to - p));
      storage.write(zeros, p);
    }
  }

  private void markFull(int block) {
    knownFull.add(block);
    if (batmap != null && batmap.setFull(block)) {
      batmapDirty = true;
    }
  }

  /** Writes bytes of a fixed image's data area directly. */
  public synchronized void writeFixed(long offset, ByteBuffer src) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    storage.write(src, offset);
    dataDirty = true;
  }

  /** Commits every write so far in the order documented on this class. */
  public synchronized void flush() throws IOException {
    if (readOnly || closed) {
      return;
    }
    boolean metadata =
        bitmaps.hasChanged() || !dirtyBatSectors.isEmpty() || batmapDirty || trailerDirty;
    if (!metadata) {
      if (dataDirty) {
        storage.force();
        dataDirty = false;
      }
      return;
    }
    storage.force();
    if (bitmaps.hasChanged()) {
      for (Map.Entry<Integer, SectorBitmap> e : bitmaps.changed().entrySet()) {
        storage.write(e.getValue().toBuffer(), bitmapOffset(e.getKey()));
      }
      storage.force();
      bitmaps.written();
    }
    long tableOffset = header == null ? 0 : header.tableOffset();
    for (int s = dirtyBatSectors.nextSetBit(0); s >= 0; s = dirtyBatSectors.nextSetBit(s + 1)) {
      storage.write(bat.sectorContaining(s * 128), tableOffset + (long) s * VhdLayout.SECTOR);
    }
    dirtyBatSectors.clear();
    if (batmapDirty && batmapHeader != null) {
      writeBatmap();
    }
    writeFooters(!copyAtZeroValid);
    storage.force();
    dataDirty = false;
  }

  private void writeBatmap() throws IOException {
    storage.write(ByteBuffer.wrap(batmap.bytes()), batmapHeader.batmapOffset());
    ByteBuffer h = ByteBuffer.allocate(BatmapHeader.SIZE);
    batmapHeader.writeTo(h, batmap.bytes());
    storage.write(h.flip(), batmapHeaderOffset);
    batmapDirty = false;
    batmapValid = true;
  }

  /** Writes the trailing footer at the end of data and, if asked, the copy at offset 0. */
  private void writeFooters(boolean alsoCopyAtZero) throws IOException {
    long at = header == null ? size() : dataEnd;
    storage.write(footer.toBuffer(), at);
    if (storage.size() > at + Footer.SIZE) {
      storage.truncate(at + Footer.SIZE);
    }
    if (alsoCopyAtZero && header != null) {
      storage.write(footer.toBuffer(), 0);
      copyAtZeroValid = true;
    }
    trailerDirty = false;
    trailerValid = true;
  }

  /** Sets blktap's hidden flag in both footers and makes it durable. */
  public synchronized void setHidden(boolean hidden) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    flush();
    footer = footer.withHidden(hidden);
    writeFooters(true);
    storage.force();
  }

  /**
   * Gives the image another identity (both footers, durably): a backup merge makes the merged base
   * the image it absorbed, as Xen Orchestra's does, so children naming that image still find it.
   */
  public synchronized void setUniqueId(java.util.UUID id) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    flush();
    footer = footer.withUniqueId(id);
    writeFooters(true);
    storage.force();
  }

  /**
   * Changes the virtual size within the BAT's capacity: the trailing footer first, then the copy at
   * offset 0, which opening trusts; each is one sector, so the switch is atomic.
   */
  public synchronized void setSize(long newSize) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    if (bat != null && VhdLayout.blocksFor(newSize, blockSize) > bat.size()) {
      throw new IllegalArgumentException("size beyond the BAT's capacity");
    }
    flush();
    footer = footer.withCurrentSize(newSize);
    writeFooters(true);
    storage.force();
  }

  /** Marks blocks from {@code first} on unallocated (their space is leaked); durable at flush. */
  public synchronized void releaseBlocksFrom(int first) {
    for (int b = first; b < bat.size(); b++) {
      if (bat.isAllocated(b)) {
        bat.clear(b);
        dirtyBatSectors.set(b / 128);
        bitmaps.forget(b);
        knownFull.remove(b);
        if (batmap != null && batmap.clearFull(b)) {
          batmapDirty = true;
        }
        trailerDirty = true;
      }
    }
  }

  /**
   * Writes a new dynamic header in one write and fsyncs it, after committing pending writes (for
   * {@link VhdParent#relink}).
   */
  synchronized void replaceHeader(DynamicHeader next) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    flush();
    header = next;
    storage.write(header.toBuffer(), footer.dataOffset());
    storage.force();
  }

  /**
   * Zeroes sectors whose clear bitmap bits hide data ({@link HiddenData}), as the spec wants them;
   * what the guest reads does not change, so there is no ordering to keep.
   */
  public synchronized void zeroHiddenData(java.util.List<HiddenData.Run> runs) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    for (HiddenData.Run r : runs) {
      ByteBuffer zeros = ByteBuffer.allocate(r.count() * VhdLayout.SECTOR);
      storage.write(zeros, dataOffset(r.block()) + (long) r.sector() * VhdLayout.SECTOR);
    }
    storage.force();
  }

  /** Rewrites a torn trailing footer and a bad copy at offset 0 (check --repair). */
  public synchronized void repairFooters() throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(name());
    }
    storage.force();
    if (batmapHeader != null && !batmapValid) {
      writeBatmap();
    }
    writeFooters(true);
    storage.force();
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      flush();
    } finally {
      closed = true;
      storage.close();
    }
  }
}
