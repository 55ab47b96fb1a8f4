package io.vdisk.engine.image;

import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.VhdLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a dynamic image's structures lie in its file: what {@code check} tests for overlaps and
 * what a rewrite of metadata (a relinked locator) must keep clear of.
 */
public final class VhdRegions {
  private VhdRegions() {}

  /** A part of the file that holds a structure: {@code [start, end)}, and what it is. */
  public record Region(long start, long end, String what) {
    public boolean overlaps(long s, long e) {
      return s < end && start < e;
    }
  }

  /**
   * The metadata structures of a dynamic image in the file (footer copy, header, BAT, batmap, each
   * parent locator's space): with the blocks ({@link #blockOverlapping}), what a write of metadata
   * must keep clear of.
   */
  public static List<Region> of(VhdImage img) {
    List<Region> out = new ArrayList<>();
    DynamicHeader header = img.header();
    if (header == null) {
      return out;
    }
    out.add(new Region(0, Footer.SIZE, "the footer copy"));
    long h = img.footer().dataOffset();
    out.add(new Region(h, h + DynamicHeader.SIZE, "the header"));
    long t = header.tableOffset();
    out.add(new Region(t, t + VhdLayout.batBytes(header.entries()), "the BAT"));
    BatmapHeader batmapHeader = img.batmapHeader();
    if (batmapHeader != null) {
      long batmapHeaderOffset = img.batmapHeaderOffset();
      out.add(
          new Region(
              batmapHeaderOffset, batmapHeaderOffset + BatmapHeader.SIZE, "the batmap header"));
      long m = batmapHeader.batmapOffset();
      out.add(new Region(m, m + batmapHeader.mapBytes(), "the batmap"));
    }
    for (int i = 0; i < header.locators().size(); i++) {
      ParentLocator l = header.locators().get(i);
      if (l.isUsed()) {
        out.add(
            new Region(l.dataOffset(), l.dataOffset() + l.dataSpaceBytes(), "parent locator " + i));
      }
    }
    return out;
  }

  /** The first block (bitmap and data) overlapping {@code [start, end)}, or -1. */
  public static int blockOverlapping(VhdImage img, long start, long end) {
    BlockAllocationTable bat = img.bat();
    if (bat == null) {
      return -1;
    }
    long span = (long) VhdLayout.bitmapBytes(img.blockSize()) + img.blockSize();
    for (int b = 0; b < bat.size(); b++) {
      long s = bat.sectorOf(b);
      if (s >= 0 && start < s * VhdLayout.SECTOR + span && s * VhdLayout.SECTOR < end) {
        return b;
      }
    }
    return -1;
  }
}
