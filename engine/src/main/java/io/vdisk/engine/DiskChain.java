package io.vdisk.engine;

import io.vdisk.engine.image.ParentResolver;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.ReadOnlyDiskException;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Transfers;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.roaringbitmap.RoaringBitmap;

/**
 * A leaf image over its read-only ancestors, as one {@link VirtualDisk}. A single fixed or dynamic
 * image is a chain of depth 1.
 *
 * <p><b>Ownership index.</b> Opening reads BATs (and batmaps), never data. Per block, {@code owner}
 * holds the topmost layer that has the block allocated, and {@code ownerFull} the blocks whose
 * owner holds every sector, so most reads go straight to one layer whatever the depth. Only a block
 * partly present in its owner consults that layer's sector bitmap (cached by the layer) and, for
 * the clear runs, the next layer down that has the block, found in per-layer {@link RoaringBitmap}s
 * of allocated blocks. Memory: two bytes a block plus the bitmaps, a few MiB for a full 2 TiB disk.
 *
 * <p><b>Writes</b> go to the leaf: per-sector bits in a differencing leaf, partial sectors read
 * from the chain first, zero writes skipped only where no layer holds data. The ordering that makes
 * them crash-safe is {@link VhdImage}'s.
 *
 * <p>Thread-safe: reads share a lock, writes and flushes take it alone.
 */
public final class DiskChain implements VirtualDisk {
  /** Deepest chain accepted; XenServer stops at 30. */
  public static final int MAX_DEPTH = 1024;

  private final List<VhdImage> layers;
  private final List<Path> paths;
  private final boolean readOnly;
  private final int blockSize;
  private final long size;
  private final short[] owner;
  private final RoaringBitmap[] allocated;
  private final RoaringBitmap ownerFull = new RoaringBitmap();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private DiskChain(List<VhdImage> layers, List<Path> paths, boolean readOnly) throws IOException {
    this.layers = List.copyOf(layers);
    this.paths = List.copyOf(paths);
    this.readOnly = readOnly;
    VhdImage leaf = layers.get(0);
    this.blockSize = leaf.blockSize();
    this.size = leaf.size();
    for (VhdImage l : layers) {
      if (!l.isFixed() && l.blockSize() != blockSize) {
        throw new UnsupportedImageException(
            String.format(
                "%s: block size %d differs from the leaf's %d (%s); mixed block sizes in one chain"
                    + " are not supported",
                l.name(), l.blockSize(), blockSize, leaf.name()));
      }
    }
    int blocks = (int) VhdLayout.blocksFor(size, blockSize);
    this.owner = new short[blocks];
    Arrays.fill(owner, (short) -1);
    this.allocated = new RoaringBitmap[layers.size()];
    RoaringBitmap[] full = new RoaringBitmap[layers.size()];
    for (int i = layers.size() - 1; i >= 0; i--) {
      VhdImage l = layers.get(i);
      if (l.isFixed()) {
        allocated[i] = new RoaringBitmap();
        allocated[i].add(0L, Math.min(blocks, VhdLayout.blocksFor(l.size(), blockSize)));
        full[i] = allocated[i];
      } else {
        allocated[i] = l.allocatedSet();
        full[i] = l.knownFullSet();
      }
      short layer = (short) i;
      allocated[i].forEach(
          (int b) -> {
            if (b < blocks) {
              owner[b] = layer;
            }
          });
    }
    for (int b = 0; b < blocks; b++) {
      if (owner[b] >= 0 && full[owner[b]].contains(b)) {
        ownerFull.add(b);
      }
    }
  }

  /** Opens the chain ending at {@code leaf}; ancestors are always read-only. */
  public static DiskChain open(Path leaf, boolean readOnly) throws IOException {
    return open(leaf, readOnly, StorageProvider.FILES);
  }

  /** Opens the chain with {@code access} for the leaf ({@code PEEK}: every layer unlocked). */
  public static DiskChain open(Path leaf, StorageProvider.Access access) throws IOException {
    return open(leaf, access, StorageProvider.FILES, null);
  }

  public static DiskChain open(Path leaf, boolean readOnly, StorageProvider provider)
      throws IOException {
    return open(leaf, readOnly, provider, null);
  }

  public static DiskChain open(
      Path leaf, boolean readOnly, StorageProvider provider, Path confineTo) throws IOException {
    return open(
        leaf,
        readOnly ? StorageProvider.Access.READ : StorageProvider.Access.WRITE,
        provider,
        confineTo);
  }

  /**
   * Opens the chain ending at {@code leaf}, every ancestor resolved inside {@code confineTo}
   * (symbolic links followed) when it is not null: a storage repository's chains never leave it.
   * The leaf is opened with {@code access} and every ancestor for reading (with a reader's lock, or
   * none when {@code access} is {@code PEEK}), so no one writes a parent that this chain reads.
   */
  public static DiskChain open(
      Path leaf, StorageProvider.Access access, StorageProvider provider, Path confineTo)
      throws IOException {
    return open(leaf, access, provider, confineTo, WriteRule.Grant.USER);
  }

  /**
   * As above; a write open applies {@link WriteRule} to the leaf with {@code grant} once the leaf
   * is open (and locked), so the decision is made on the image as it is.
   */
  public static DiskChain open(
      Path leaf,
      StorageProvider.Access access,
      StorageProvider provider,
      Path confineTo,
      WriteRule.Grant grant)
      throws IOException {
    boolean readOnly = access != StorageProvider.Access.WRITE;
    StorageProvider.Access ancestors =
        access == StorageProvider.Access.PEEK
            ? StorageProvider.Access.PEEK
            : StorageProvider.Access.READ;
    if (confineTo != null && !leaf.toRealPath().startsWith(confineTo.toRealPath())) {
      throw new java.nio.file.AccessDeniedException(
          leaf.toString(), null, "resolves to " + leaf.toRealPath() + ", outside " + confineTo);
    }
    List<VhdImage> layers = new ArrayList<>();
    List<Path> paths = new ArrayList<>();
    try {
      VhdImage current = VhdImage.open(provider.open(leaf, access), readOnly);
      if (!readOnly) {
        layers.add(current); // closed on failure below
        WriteRule.check(leaf, current, grant);
        layers.clear();
      }
      Path currentPath = leaf.toAbsolutePath().normalize();
      Set<Path> seenPaths = new HashSet<>();
      Set<UUID> seenIds = new HashSet<>();
      while (true) {
        layers.add(current);
        paths.add(currentPath);
        Path real = currentPath.toRealPath();
        if (!seenPaths.add(real) || !seenIds.add(current.footer().uniqueId())) {
          throw new CorruptImageException(
              leaf
                  + ": parent loop: "
                  + currentPath
                  + " (UUID "
                  + current.footer().uniqueId()
                  + ") is already in the chain");
        }
        if (!current.isDifferencing()) {
          break;
        }
        if (layers.size() >= MAX_DEPTH) {
          throw new UnsupportedImageException(
              leaf + ": chain deeper than " + MAX_DEPTH + " images");
        }
        ParentResolver.Found p =
            ParentResolver.open(current, currentPath, provider, ancestors, confineTo);
        current = p.image();
        currentPath = p.path();
      }
      return new DiskChain(layers, paths, readOnly);
    } catch (IOException | RuntimeException e) {
      for (VhdImage l : layers) {
        try {
          l.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  public List<VhdImage> layers() {
    return layers;
  }

  public List<Path> paths() {
    return paths;
  }

  public VhdImage leaf() {
    return layers.get(0);
  }

  public int depth() {
    return layers.size();
  }

  public int blockSize() {
    return blockSize;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  /** The topmost layer holding any of {@code block}, or -1. */
  public int ownerOf(int block) {
    lock.readLock().lock();
    try {
      return owner[block];
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- reads ------------------------------------------------------------------------------

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    VirtualDisk.checkRange(this, offset, dst.remaining());
    lock.readLock().lock();
    try {
      long pos = offset;
      while (dst.hasRemaining()) {
        int block = (int) (pos / blockSize);
        int inBlock = (int) (pos % blockSize);
        int n = Math.min(dst.remaining(), blockSize - inBlock);
        ByteBuffer part = dst.slice(dst.position(), n);
        readBlock(block, inBlock, part, 0);
        dst.position(dst.position() + n);
        pos += n;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * A block whose bytes one layer's file holds whole goes to {@code target} by the kernel's copy,
   * outside the chain's lock (data in a VHD never moves once written, so a write meanwhile is a
   * write racing a read, as with {@link #read}); any other block is read into a buffer under the
   * lock, as {@link #read} does, and written from it.
   */
  @Override
  public void transferTo(long offset, long length, WritableByteChannel target) throws IOException {
    VirtualDisk.checkRange(this, offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      int block = (int) (pos / blockSize);
      int inBlock = (int) (pos % blockSize);
      int n = (int) Math.min(end - pos, blockSize - inBlock);
      VhdImage whole = null;
      ByteBuffer buffered = null;
      lock.readLock().lock();
      try {
        int layer = owner[block];
        if (layer >= 0) {
          VhdImage img = layers.get(layer);
          if ((ownerFull.contains(block) || img.isFixed()) && pos + n <= img.size()) {
            whole = img;
          } else {
            n = Math.min(n, Transfers.BUFFER_SIZE);
            buffered = Transfers.buffer(n);
            readBlock(block, inBlock, buffered.duplicate(), 0);
          }
        }
      } finally {
        lock.readLock().unlock();
      }
      if (whole != null) {
        whole.transferData(block, inBlock, n, target);
      } else if (buffered != null) {
        Transfers.writeFully(target, buffered);
      } else {
        Transfers.zeros(n, target);
      }
      pos += n;
    }
  }

  /**
   * Fills {@code dst} (all of it) from {@code block} at {@code off}, looking from layer {@code
   * from} down.
   */
  private void readBlock(int block, int off, ByteBuffer dst, int from) throws IOException {
    int layer = from == 0 ? owner[block] : nextOwner(block, from);
    if (layer < 0) {
      Zeros.fill(dst);
      return;
    }
    VhdImage img = layers.get(layer);
    long abs = (long) block * blockSize + off;
    if (abs + dst.remaining() > img.size()) {
      // Past the end of a smaller ancestor reads as zeros, as libvhd does.
      int inside = (int) Math.max(0, img.size() - abs);
      ByteBuffer tail = dst.slice(dst.position() + inside, dst.remaining() - inside);
      Zeros.fill(tail);
      if (inside == 0) {
        return;
      }
      dst = dst.slice(dst.position(), inside);
    }
    boolean full = from == 0 ? ownerFull.contains(block) : img.isKnownFull(block);
    if (full || img.isFixed()) {
      img.readData(block, off, dst);
      return;
    }
    SectorBitmap bm = img.bitmap(block);
    boolean bottom = layer == layers.size() - 1;
    int end = off + dst.remaining();
    int base = dst.position();
    int pos = off;
    while (pos < end) {
      int sector = pos / VhdLayout.SECTOR;
      boolean present = bm.get(sector);
      int runEnd = Math.min(end, bm.next(sector, bm.sectors(), !present) * VhdLayout.SECTOR);
      ByteBuffer part = dst.slice(base + pos - off, runEnd - pos);
      if (present) {
        img.readData(block, pos, part);
      } else if (bottom) {
        Zeros.fill(part);
      } else {
        readBlock(block, pos, part, layer + 1);
      }
      pos = runEnd;
    }
  }

  private int nextOwner(int block, int from) {
    for (int i = from; i < layers.size(); i++) {
      if (allocated[i].contains(block)) {
        return i;
      }
    }
    return -1;
  }

  // ---- writes -----------------------------------------------------------------------------

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkWritable();
    VirtualDisk.checkRange(this, offset, src.remaining());
    lock.writeLock().lock();
    try {
      VhdImage leaf = leaf();
      if (leaf.isFixed()) {
        leaf.writeFixed(offset, src);
        return;
      }
      long pos = offset;
      while (src.hasRemaining()) {
        int block = (int) (pos / blockSize);
        int inBlock = (int) (pos % blockSize);
        int n = Math.min(src.remaining(), blockSize - inBlock);
        writeBlock(block, inBlock, src.slice(src.position(), n));
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void writeBlock(int block, int off, ByteBuffer data) throws IOException {
    int head = off % VhdLayout.SECTOR;
    int end = off + data.remaining();
    int tail = (VhdLayout.SECTOR - end % VhdLayout.SECTOR) % VhdLayout.SECTOR;
    ByteBuffer sectors = data;
    if (head != 0 || tail != 0) {
      // Read-modify-write of partial sectors, from whatever layer holds them now.
      int start = off - head;
      int len = data.remaining() + head + tail;
      ByteBuffer buf = ByteBuffer.allocate(len);
      readBlock(block, start, buf.slice(0, VhdLayout.SECTOR), 0);
      readBlock(
          block,
          start + len - VhdLayout.SECTOR,
          buf.slice(len - VhdLayout.SECTOR, VhdLayout.SECTOR),
          0);
      buf.put(head, data, data.position(), data.remaining());
      sectors = buf;
      off = start;
    }
    VhdImage leaf = leaf();
    leaf.writeSectors(block, off / VhdLayout.SECTOR, sectors);
    owner[block] = 0;
    allocated[0].add(block);
    if (leaf.isKnownFull(block)) {
      ownerFull.add(block);
    } else {
      ownerFull.remove(block);
    }
  }

  @Override
  public void writeZeros(long offset, long length) throws IOException {
    checkWritable();
    VirtualDisk.checkRange(this, offset, length);
    long pos = offset;
    long end = offset + length;
    ByteBuffer zeros = ByteBuffer.allocate(blockSize);
    while (pos < end) {
      int block = (int) (pos / blockSize);
      long blockEnd = Math.min(end, (long) (block + 1) * blockSize);
      // Nothing to store where no layer has data: it already reads as zeros (dosbox-x #4545:
      // an ancestor's data must be masked, so only "no layer at all" may be skipped).
      if (ownerOf(block) >= 0 || leaf().isFixed()) {
        zeros.clear().limit((int) (blockEnd - pos));
        write(pos, zeros);
      }
      pos = blockEnd;
    }
  }

  private void checkWritable() throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(leaf().name());
    }
  }

  @Override
  public void flush() throws IOException {
    lock.writeLock().lock();
    try {
      leaf().flush();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- extents ----------------------------------------------------------------------------

  @Override
  public List<Extent> extents(long from, long to) {
    VirtualDisk.checkRange(this, from, to - from);
    List<Extent> out = new ArrayList<>();
    lock.readLock().lock();
    try {
      long pos = from;
      while (pos < to) {
        int block = (int) (pos / blockSize);
        long end = Math.min(to, (long) (block + 1) * blockSize);
        int layer = owner[block];
        Extent.Kind kind = layer < 0 ? Extent.Kind.ZERO : Extent.Kind.DATA;
        Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
        if (last != null && last.kind() == kind && last.layer() == layer && last.end() == pos) {
          out.set(out.size() - 1, new Extent(last.offset(), end - last.offset(), kind, layer));
        } else {
          out.add(new Extent(pos, end - pos, kind, layer));
        }
        pos = end;
      }
    } finally {
      lock.readLock().unlock();
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    lock.writeLock().lock();
    try {
      for (VhdImage l : layers) {
        try {
          l.close();
        } catch (IOException e) {
          if (first == null) {
            first = e;
          } else {
            first.addSuppressed(e);
          }
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
    if (first != null) {
      throw first;
    }
  }
}
