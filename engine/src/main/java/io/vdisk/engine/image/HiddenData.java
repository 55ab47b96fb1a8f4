package io.vdisk.engine.image;

import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Non-zero bytes under clear sector-bitmap bits: the spec says such sectors hold zeros, and every
 * reader ignores them (vdisk, libvhd, tapdisk read zeros or the parent there). They are what a
 * crash between a write and its bitmap leaves, or what an older vdisk left when it wrote into a
 * dynamic block without setting bits. {@code vhd-util check -b} looks at the first byte of each
 * such sector; this looks at every byte.
 */
public final class HiddenData {
  /** Sectors {@code [sector, sector + count)} of a block hold data their clear bits hide. */
  public record Run(int block, int sector, int count) {}

  private HiddenData() {}

  /** Every run of hidden non-zero sectors, block by block, reading only clear-bit sectors. */
  public static List<Run> scan(VhdImage img) throws IOException {
    List<Run> out = new ArrayList<>();
    if (img.isFixed()) {
      return out;
    }
    int sectors = img.blockSize() / VhdLayout.SECTOR;
    ByteBuffer buf = ByteBuffer.allocate(Math.min(img.blockSize(), 1 << 20));
    // In file order, so that one SEEK_DATA skips every block lying wholly in a hole (bitmap and
    // data never written: nothing hidden there) without reading its bitmap.
    // Packed as (bitmap sector << 32 | block): BAT sectors are 32-bit, and a primitive array of
    // a million entries is 8 MiB where a list of pairs would be ten times that.
    // When the BAT already lies in file order (blocks appended as they were first written, as
    // every writer does for a sequential fill), block order is file order: no array at all.
    boolean inOrder = true;
    long previous = -1;
    int count = 0;
    for (int b = 0; b < img.blockCount(); b++) {
      if (img.isAllocated(b) && !img.isKnownFull(b)) {
        long at = img.bitmapOffset(b);
        inOrder &= at > previous;
        previous = at;
        count++;
      }
    }
    long[] order = null;
    if (!inOrder) {
      order = new long[count];
      int k = 0;
      for (int b = 0; b < img.blockCount(); b++) {
        if (img.isAllocated(b) && !img.isKnownFull(b)) {
          order[k++] = (img.bitmapOffset(b) / VhdLayout.SECTOR) << 32 | b;
        }
      }
      java.util.Arrays.sort(order);
    }
    int nextBlock = 0;
    long dataAt = -1;
    for (int k = 0; k < count; k++) {
      int b;
      if (order != null) {
        b = (int) order[k];
      } else {
        b = nextBlock;
        while (!img.isAllocated(b) || img.isKnownFull(b)) {
          b++;
        }
        nextBlock = b + 1;
      }
      long bitmapAt = img.bitmapOffset(b);
      long blockEnd = img.dataOffset(b) + img.blockSize();
      if (dataAt < bitmapAt) {
        dataAt = img.storage().nextData(bitmapAt);
      }
      if (dataAt >= blockEnd) {
        continue;
      }
      SectorBitmap bm = img.bitmap(b);
      for (int s = bm.next(0, sectors, false); s < sectors; ) {
        int end = bm.next(s, sectors, true);
        for (int from = s; from < end; ) {
          // A hole (what tapdisk's unwritten sectors are on every file system but NFS) is zeros:
          // skip to where data may be, without reading.
          long at = img.dataOffset(b) + (long) from * VhdLayout.SECTOR;
          long data = img.storage().nextData(at);
          if (data > at) {
            from = (int) Math.min(end, from + (data - at) / VhdLayout.SECTOR);
            continue;
          }
          int n = Math.min(end - from, buf.capacity() / VhdLayout.SECTOR);
          buf.clear().limit(n * VhdLayout.SECTOR);
          img.readData(b, from * VhdLayout.SECTOR, buf);
          buf.flip();
          for (int i = 0; i < n; i++) {
            ByteBuffer sector = buf.slice(i * VhdLayout.SECTOR, VhdLayout.SECTOR);
            if (!Zeros.isZero(sector)) {
              Run last = out.isEmpty() ? null : out.get(out.size() - 1);
              if (last != null && last.block() == b && last.sector() + last.count() == from + i) {
                out.set(out.size() - 1, new Run(b, last.sector(), last.count() + 1));
              } else {
                out.add(new Run(b, from + i, 1));
              }
            }
          }
          from += n;
        }
        s = end >= sectors ? sectors : bm.next(end, sectors, false);
      }
    }
    return out;
  }

  public static long sectors(List<Run> runs) {
    return runs.stream().mapToLong(Run::count).sum();
  }
}
