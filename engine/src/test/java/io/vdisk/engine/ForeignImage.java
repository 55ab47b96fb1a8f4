package io.vdisk.engine;

import io.vdisk.engine.image.DynamicLayout;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import io.vdisk.vhd.VhdTime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Builds VHD files byte by byte as other tools leave them, for tests of vdisk's write paths on
 * images it did not make: tapdisk and {@code vhd-util coalesce} leave dynamic blocks with partial
 * sector bitmaps (a clear bit reads as zeros), place blocks in the order they were first written
 * with their data 4 KiB-aligned, and keep a batmap whose bit is set only for blocks whose bitmap is
 * full. The layout is blktap's: footer copy at 0, header at 512, BAT at 1536, batmap header and map
 * after the BAT, parent locators after that, then the blocks, then the trailing footer.
 */
public final class ForeignImage {
  private final DiskType type;
  private final long size;
  private final int blockSize;
  private final Map<Integer, Block> blocks = new LinkedHashMap<>();
  private int creatorApp = VhdLayout.CREATOR_TAP;
  private int creatorVersion = VhdLayout.CREATOR_VERSION_TAP_1_3;
  private boolean batmap = true;
  private UUID uuid = UUID.randomUUID();
  private VhdCreator.ParentLink parent;
  private boolean hidden;
  private boolean legacyHidden;

  private record Block(SectorBitmap bitmap, byte[] data) {}

  private ForeignImage(DiskType type, long size, int blockSize) {
    this.type = type;
    this.size = size;
    this.blockSize = blockSize;
  }

  public static ForeignImage dynamic(long size, int blockSize) {
    return new ForeignImage(DiskType.DYNAMIC, size, blockSize);
  }

  /** A differencing image whose parent is the image at {@code parentPath} (already written). */
  public static ForeignImage differencing(Path child, Path parentPath) throws IOException {
    Footer pf;
    try (VhdImage p = VhdImage.open(StorageProvider.FILES.open(parentPath, true), true)) {
      pf = p.footer();
      ForeignImage f = new ForeignImage(DiskType.DIFFERENCING, p.size(), p.blockSize());
      f.parent = VhdCreator.linkTo(child, parentPath, pf);
      return f;
    }
  }

  /**
   * A differencing image over a raw file, as {@code vhd-util snapshot -m} makes it: parent UUID all
   * zeros, locators naming the raw file, the raw file's size.
   */
  public static ForeignImage overRaw(Path child, Path raw) throws IOException {
    ForeignImage f =
        new ForeignImage(DiskType.DIFFERENCING, Files.size(raw), VhdLayout.DEFAULT_BLOCK_SIZE);
    Path dir = child.toAbsolutePath().normalize().getParent();
    String rel = dir.relativize(raw.toAbsolutePath().normalize()).toString();
    f.parent = new VhdCreator.ParentLink(new UUID(0, 0), 0, raw.getFileName().toString(), rel);
    return f;
  }

  /** The footer copy at 0 says hidden, its checksum computed without it (early tapdisk). */
  public ForeignImage legacyHiddenCopy() {
    this.legacyHidden = true;
    return this;
  }

  /**
   * Block {@code index} holds {@code data} (a whole block) with bits set for the sectors in {@code
   * present}; sectors not present are written as zeros, as the spec requires.
   */
  public ForeignImage block(int index, SectorBitmap present, byte[] data) {
    if (data.length != blockSize) {
      throw new IllegalArgumentException("a block is " + blockSize + " bytes");
    }
    byte[] stored = data.clone();
    for (int s = 0; s < blockSize / VhdLayout.SECTOR; s++) {
      if (!present.get(s)) {
        java.util.Arrays.fill(stored, s * VhdLayout.SECTOR, (s + 1) * VhdLayout.SECTOR, (byte) 0);
      }
    }
    blocks.put(index, new Block(present.copy(), stored));
    return this;
  }

  /** A block whose sectors {@code [from, to)} hold {@code value}, the rest clear bits and zeros. */
  public ForeignImage partialBlock(int index, int fromSector, int toSector, int value) {
    SectorBitmap bm = SectorBitmap.empty(blockSize);
    bm.setRange(fromSector, toSector);
    byte[] data = new byte[blockSize];
    java.util.Arrays.fill(
        data, fromSector * VhdLayout.SECTOR, toSector * VhdLayout.SECTOR, (byte) value);
    return block(index, bm, data);
  }

  public ForeignImage creator(int app, int version) {
    this.creatorApp = app;
    this.creatorVersion = version;
    return this;
  }

  public ForeignImage withoutBatmap() {
    this.batmap = false;
    return this;
  }

  public ForeignImage uuid(UUID u) {
    this.uuid = u;
    return this;
  }

  public ForeignImage hidden() {
    this.hidden = true;
    return this;
  }

  /** What the guest sees, given the parent's contents (null for a dynamic image). */
  public byte[] contents(byte[] parentView) {
    byte[] out = parentView == null ? new byte[(int) size] : parentView.clone();
    for (Map.Entry<Integer, Block> e : blocks.entrySet()) {
      for (int s = 0; s < blockSize / VhdLayout.SECTOR; s++) {
        long abs = (long) e.getKey() * blockSize + (long) s * VhdLayout.SECTOR;
        if (abs >= size) {
          break;
        }
        if (e.getValue().bitmap().get(s)) {
          System.arraycopy(e.getValue().data(), s * VhdLayout.SECTOR, out, (int) abs, 512);
        } else if (parentView == null) {
          java.util.Arrays.fill(out, (int) abs, (int) abs + 512, (byte) 0);
        }
      }
    }
    return out;
  }

  public Path writeTo(Path path) throws IOException {
    int entries = (int) VhdLayout.blocksFor(size, blockSize);
    List<DynamicLayout.Locator> paths = new ArrayList<>();
    if (parent != null) {
      for (int code : new int[] {ParentLocator.MACX, ParentLocator.W2KU, ParentLocator.W2RU}) {
        paths.add(
            new DynamicLayout.Locator(code, ParentLocator.encodePath(code, parent.relativePath())));
      }
    }
    DynamicLayout layout = DynamicLayout.of(entries, paths);
    DynamicHeader header = DynamicHeader.create(layout.tableOffset(), entries, blockSize);
    if (parent != null) {
      header =
          header.withParent(parent.uuid(), parent.timestamp(), parent.name(), layout.locators());
    }
    Footer footer =
        new Footer(
            Footer.FEATURES_RESERVED,
            Footer.FORMAT_VERSION,
            Footer.SIZE,
            VhdTime.of(Instant.now()),
            creatorApp,
            creatorVersion,
            0,
            size,
            size,
            io.vdisk.vhd.Geometry.forSize(size),
            type.code(),
            0,
            uuid,
            0,
            hidden ? 1 : 0,
            null);
    BlockAllocationTable bat = BlockAllocationTable.empty(entries);
    io.vdisk.vhd.Batmap map = io.vdisk.vhd.Batmap.empty(layout.batmapBytes());
    int bitmapBytes = VhdLayout.bitmapBytes(blockSize);
    long next = layout.end();
    List<long[]> placed = new ArrayList<>();
    for (Map.Entry<Integer, Block> e : blocks.entrySet()) {
      long start = VhdLayout.blockStart(next, bitmapBytes);
      long dataStart = start + bitmapBytes;
      bat.set(e.getKey(), start / VhdLayout.SECTOR);
      if (batmap && e.getValue().bitmap().isFull()) {
        map.setFull(e.getKey());
      }
      placed.add(new long[] {e.getKey(), start});
      next = dataStart + blockSize;
    }
    ByteBuffer file = ByteBuffer.allocate((int) (next + Footer.SIZE));
    ByteBuffer meta = layout.metadata(footer, header, bat, map);
    if (!batmap) {
      // No batmap header: the space after the BAT stays zero.
      byte[] m = new byte[meta.remaining()];
      meta.get(m);
      java.util.Arrays.fill(m, (int) layout.batmapHeaderOffset(), (int) layout.end(), (byte) 0);
      for (int i = 0; i < layout.locators().size(); i++) {
        byte[] d = layout.locatorData().get(i);
        System.arraycopy(d, 0, m, (int) layout.locators().get(i).dataOffset(), d.length);
      }
      meta = ByteBuffer.wrap(m);
    }
    file.put(meta);
    for (long[] p : placed) {
      Block b = blocks.get((int) p[0]);
      file.position((int) p[1]);
      b.bitmap().writeTo(file);
      file.position((int) p[1] + bitmapBytes);
      file.put(b.data());
    }
    file.position((int) next);
    footer.writeTo(file);
    if (legacyHidden) {
      file.put(85, (byte) 1); // the copy at 0 only, checksum left as it was
    }
    Files.write(path, file.array());
    return path;
  }
}
