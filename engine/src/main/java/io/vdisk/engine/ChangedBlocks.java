package io.vdisk.engine;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.roaringbitmap.RoaringBitmap;

/**
 * Where two disks of one lineage may differ: a set of 512-byte sectors (unsigned {@code int}
 * indexes, enough for VHD's 2040 GiB), exact when it comes from the layers of two chains, whole 64
 * KiB blocks when it comes from changed-block-tracking logs. Shown as XenServer shows it ({@link
 * #xapiBitmap}: one bit per 64 KiB block) or as byte extents.
 */
public final class ChangedBlocks {
  /** The unit of XenServer's changed-block lists and CBT logs. */
  public static final int BLOCK = 64 * 1024;

  private static final int SECTORS_PER_BLOCK = BLOCK / VhdLayout.SECTOR;

  /** Where the answer comes from. */
  public enum Source {
    /** The chains' own sector bitmaps: exact. */
    LAYERS,
    /** Changed-block-tracking logs: whole 64 KiB blocks. */
    CBT
  }

  /** A run of bytes. */
  public record Range(long offset, long length) {
    public long end() {
      return offset + length;
    }
  }

  private final long size;
  private final long fromSize;
  private final RoaringBitmap sectors;
  private final Source source;

  private ChangedBlocks(long size, long fromSize, RoaringBitmap sectors, Source source) {
    this.size = size;
    this.fromSize = fromSize;
    this.sectors = sectors;
    this.source = source;
  }

  /** From whole 64 KiB blocks, as a CBT log holds them, clipped to {@code size}. */
  public static ChangedBlocks ofBlocks(long size, long fromSize, RoaringBitmap blocks) {
    RoaringBitmap s = new RoaringBitmap();
    long end = VhdLayout.roundUpToSector(size) / VhdLayout.SECTOR;
    blocks.forEach(
        (int b) -> {
          long first = Integer.toUnsignedLong(b) * SECTORS_PER_BLOCK;
          s.add(first, Math.min(first + SECTORS_PER_BLOCK, end));
        });
    addGrowth(s, size, fromSize);
    return new ChangedBlocks(size, fromSize, s, Source.CBT);
  }

  /**
   * What may differ between two chains that share an ancestor (compared by footer UUID): every
   * sector held by a layer below their deepest common layer, on either side. No data is read, only
   * BATs and sector bitmaps. Space {@code to} has beyond {@code from}'s size counts as changed.
   *
   * @throws IllegalArgumentException when the chains share no layer
   */
  public static ChangedBlocks between(DiskChain from, DiskChain to) throws IOException {
    Map<UUID, Integer> fromIndex = new HashMap<>();
    List<VhdImage> fl = from.layers();
    for (int i = 0; i < fl.size(); i++) {
      fromIndex.put(fl.get(i).footer().uniqueId(), i);
    }
    List<VhdImage> tl = to.layers();
    int common = -1;
    int commonInFrom = -1;
    for (int i = 0; i < tl.size(); i++) {
      Integer j = fromIndex.get(tl.get(i).footer().uniqueId());
      if (j != null) {
        common = i;
        commonInFrom = j;
        break;
      }
    }
    if (common < 0) {
      throw new IllegalArgumentException("the two disks share no base image");
    }
    RoaringBitmap s = new RoaringBitmap();
    List<VhdImage> differing = new ArrayList<>(tl.subList(0, common));
    differing.addAll(fl.subList(0, commonInFrom));
    for (VhdImage layer : differing) {
      addLayer(layer, s, Math.min(layer.size(), to.size()));
    }
    addGrowth(s, to.size(), from.size());
    return new ChangedBlocks(to.size(), from.size(), s, Source.LAYERS);
  }

  private static void addLayer(VhdImage img, RoaringBitmap s, long limit) throws IOException {
    long end = VhdLayout.roundUpToSector(limit) / VhdLayout.SECTOR;
    int spb = img.blockSize() / VhdLayout.SECTOR;
    for (int b : img.allocatedSet()) {
      long first = (long) b * spb;
      if (first >= end) {
        break;
      }
      if (img.isKnownFull(b)) {
        s.add(first, Math.min(first + spb, end));
        continue;
      }
      SectorBitmap bm = img.bitmap(b);
      int i = bm.next(0, spb, true);
      while (i < spb) {
        int j = bm.next(i, spb, false);
        s.add(first + i, Math.min(first + j, end));
        i = bm.next(j, spb, true);
      }
    }
  }

  private static void addGrowth(RoaringBitmap s, long size, long fromSize) {
    if (size > fromSize) {
      s.add(
          VhdLayout.roundUpToSector(fromSize) / VhdLayout.SECTOR,
          VhdLayout.roundUpToSector(size) / VhdLayout.SECTOR);
    }
  }

  /** The later disk's size: the bitmap's extent. */
  public long size() {
    return size;
  }

  /** The earlier disk's size (smaller when the VDI grew since). */
  public long fromSize() {
    return fromSize;
  }

  public Source source() {
    return source;
  }

  /** A copy of the changed 512-byte sectors, as (unsigned) indexes. */
  public RoaringBitmap sectors() {
    return sectors.clone();
  }

  /** The changed 64 KiB blocks, as indexes. */
  public RoaringBitmap blocks() {
    RoaringBitmap r = new RoaringBitmap();
    for (Range e : exact()) {
      r.add(e.offset() / BLOCK, (e.end() + BLOCK - 1) / BLOCK);
    }
    return r;
  }

  /** Bytes in changed sectors. */
  public long changedBytes() {
    return sectors.getLongCardinality() * VhdLayout.SECTOR;
  }

  /**
   * xapi's {@code VDI.list_changed_blocks} answer: base64 of one bit per 64 KiB block of the later
   * disk, block 0 in the high bit of byte 0 (Python's big-endian {@code bitarray}, as XenServer's
   * storage manager encodes it), padded with zero bits to a whole byte.
   */
  public String xapiBitmap() {
    long bits = (size + BLOCK - 1) / BLOCK;
    byte[] out = new byte[(int) ((bits + 7) / 8)];
    blocks()
        .forEach(
            (int b) -> {
              if (Integer.toUnsignedLong(b) < bits) {
                out[b >>> 3] |= (byte) (0x80 >>> (b & 7));
              }
            });
    return Base64.getEncoder().encodeToString(out);
  }

  /** The changed byte ranges, sector-exact (whole blocks when from CBT logs), merged, in order. */
  public List<Range> exact() {
    List<Range> out = new ArrayList<>();
    long v = sectors.isEmpty() ? -1 : sectors.nextValue(0);
    while (v >= 0) {
      long e = sectors.nextAbsentValue((int) v);
      long off = v * VhdLayout.SECTOR;
      long stop = Math.min(e * VhdLayout.SECTOR, size);
      if (stop > off) {
        out.add(new Range(off, stop - off));
      }
      if (e >= 1L << 32 || e <= v) {
        break;
      }
      v = sectors.nextValue((int) e);
    }
    return out;
  }

  /** The changed 64 KiB blocks as byte ranges, merged, clipped to the disk. */
  public List<Range> blockRanges() {
    List<Range> out = new ArrayList<>();
    long[] run = {-1, -1};
    blocks()
        .forEach(
            (int b) -> {
              long off = Integer.toUnsignedLong(b) * BLOCK;
              if (off == run[1]) {
                run[1] = off + BLOCK;
              } else {
                if (run[0] >= 0) {
                  out.add(new Range(run[0], Math.min(run[1], size) - run[0]));
                }
                run[0] = off;
                run[1] = off + BLOCK;
              }
            });
    if (run[0] >= 0) {
      out.add(new Range(run[0], Math.min(run[1], size) - run[0]));
    }
    return out;
  }
}
