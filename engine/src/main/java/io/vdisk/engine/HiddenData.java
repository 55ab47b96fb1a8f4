package io.vdisk.engine;

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
final class HiddenData {
  /** Sectors {@code [sector, sector + count)} of a block hold data their clear bits hide. */
  record Run(int block, int sector, int count) {}

  private HiddenData() {}

  /** Every run of hidden non-zero sectors, block by block, reading only clear-bit sectors. */
  static List<Run> scan(VhdImage img) throws IOException {
    List<Run> out = new ArrayList<>();
    if (img.isFixed()) {
      return out;
    }
    int sectors = img.blockSize() / VhdLayout.SECTOR;
    ByteBuffer buf = ByteBuffer.allocate(Math.min(img.blockSize(), 1 << 20));
    for (int b = 0; b < img.blockCount(); b++) {
      if (!img.isAllocated(b) || img.isKnownFull(b)) {
        continue;
      }
      SectorBitmap bm = img.bitmap(b);
      for (int s = bm.next(0, sectors, false); s < sectors; ) {
        int end = bm.next(s, sectors, true);
        for (int from = s; from < end; ) {
          int n = Math.min(end - from, buf.capacity() / VhdLayout.SECTOR);
          buf.clear().limit(n * VhdLayout.SECTOR);
          img.readData(b, from * VhdLayout.SECTOR, buf);
          buf.flip();
          for (int i = 0; i < n; i++) {
            ByteBuffer sector = buf.slice(i * VhdLayout.SECTOR, VhdLayout.SECTOR);
            if (!Disks.isZero(sector)) {
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

  static long sectors(List<Run> runs) {
    return runs.stream().mapToLong(Run::count).sum();
  }
}
