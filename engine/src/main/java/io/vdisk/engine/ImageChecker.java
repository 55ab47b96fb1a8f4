package io.vdisk.engine;

import io.vdisk.engine.image.HiddenData;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.image.VhdParent;
import io.vdisk.engine.image.VhdRegions;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.Geometry;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.SectorBitmap;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The structural rules of a VHD and its chain, as {@code vhd-util check} has them
 * (docs/reference/vhd-format-notes.md §2.2), with the BAT overlap check done in O(n log n) by
 * sorting. Each rule that fails becomes a {@link Finding}; a torn or missing trailing footer and a
 * stale batmap are repairable. Opening problems (bad checksums of both footers, BAT outside the
 * file, missing or wrong parent, loops) surface as the exception {@link DiskChain#open} throws.
 */
public final class ImageChecker {
  private ImageChecker() {}

  /** Checks one image and, through {@link DiskChain#open}, that its chain resolves. */
  public static List<Finding> check(Path path) throws IOException {
    return check(path, StorageProvider.Access.READ);
  }

  /** As above; {@code PEEK} checks without taking the chain's locks ({@code -U}). */
  public static List<Finding> check(Path path, StorageProvider.Access access) throws IOException {
    List<Finding> out = new ArrayList<>();
    try (DiskChain chain = DiskChain.open(path, access, StorageProvider.FILES, null)) {
      for (int i = 0; i < chain.depth(); i++) {
        if (!chain.layers().get(i).isRaw()) {
          checkImage(chain.layers().get(i), out, i > 0);
        }
      }
      checkChainSizes(chain, out);
    }
    return out;
  }

  /** Repairs what {@link #check} reports as repairable, on the leaf. */
  public static void repair(Path path) throws IOException {
    try (VhdImage img = VhdImage.open(StorageProvider.FILES.open(path, false), false)) {
      img.repairFooters();
      if (!img.isFixed()) {
        img.zeroHiddenData(HiddenData.scan(img));
      }
    }
  }

  private static long unsignedSector(int flipped) {
    return Integer.toUnsignedLong(flipped ^ Integer.MIN_VALUE);
  }

  static void checkImage(VhdImage img, List<Finding> out, boolean ancestor) throws IOException {
    String n = img.name();
    Footer f = img.footer();
    if ((f.features() & Footer.FEATURES_RESERVED) == 0) {
      out.add(
          Finding.error(
              String.format("%s: footer features 0x%X: bit 0x2 must be set", n, f.features())));
    }
    if ((f.features() & ~0x3) != 0) {
      out.add(
          Finding.error(
              String.format("%s: footer features 0x%X: unknown bits set", n, f.features())));
    }
    if (f.formatVersion() != Footer.FORMAT_VERSION) {
      out.add(
          Finding.error(
              String.format(
                  "%s: footer version expected 0x00010000, found 0x%08X", n, f.formatVersion())));
    }
    Geometry g = Geometry.forSize(f.currentSize());
    if (f.geometry().capacity() > g.capacity() && !f.geometry().equals(Geometry.MAX)) {
      out.add(
          Finding.warning(
              String.format(
                  "%s: footer geometry %s is larger than %s computed from the size (vhd-util"
                      + " check: geometry too large)",
                  n, f.geometry(), g)));
    }
    if (f.savedState() > 1 || f.hidden() > 1) {
      out.add(
          Finding.error(
              String.format(
                  "%s: footer saved state %d / hidden %d: expected 0 or 1",
                  n, f.savedState(), f.hidden())));
    }
    if (!f.reservedZero()) {
      out.add(Finding.warning(n + ": footer reserved bytes 86..511 are not zero"));
    }
    if (f.uniqueId().getMostSignificantBits() == 0 && f.uniqueId().getLeastSignificantBits() == 0) {
      out.add(Finding.error(n + ": footer unique id is all zeros"));
    }
    if (img.isFixed()) {
      if (f.dataOffset() != Footer.NO_DATA_OFFSET) {
        out.add(
            Finding.error(
                String.format(
                    "%s: fixed footer data offset expected 0xFFFFFFFFFFFFFFFF, found 0x%X",
                    n, f.dataOffset())));
      }
      long expected = f.currentSize() + Footer.SIZE;
      // The spec allows a 511-byte footer (Virtual PC before 2004 wrote them).
      if (img.fileSize() != expected && img.fileSize() != expected - 1) {
        out.add(
            Finding.warning(
                String.format(
                    "%s: fixed image file is %d bytes, expected %d", n, img.fileSize(), expected)));
      }
      return;
    }
    if (!img.copyAtZeroValid()) {
      out.add(Finding.repairable(n + ": footer copy at offset 0 is missing or has a bad checksum"));
    }
    if (!img.trailerValid()) {
      out.add(
          Finding.repairable(
              String.format(
                  "%s: trailing footer at 0x%X is missing, torn or differs from the copy at offset"
                      + " 0 (normal after a crash)",
                  n, Math.max(0, img.fileSize() - Footer.SIZE))));
    }
    DynamicHeader h = img.header();
    if (h.dataOffset() != -1L) {
      out.add(
          Finding.error(
              String.format(
                  "%s: header data offset expected 0xFFFFFFFFFFFFFFFF, found 0x%X",
                  n, h.dataOffset())));
    }
    if (h.headerVersion() != DynamicHeader.HEADER_VERSION) {
      out.add(
          Finding.error(
              String.format(
                  "%s: header version expected 0x00010000, found 0x%08X", n, h.headerVersion())));
    }
    if (!h.reservedZero()) {
      out.add(Finding.warning(n + ": header reserved fields are not zero"));
    }
    if (img.blockSize() > VhdLayout.DEFAULT_BLOCK_SIZE) {
      out.add(
          Finding.warning(
              String.format(
                  "%s: block size %d is above 2 MiB; libvhd refuses it", n, img.blockSize())));
    }
    checkParentFields(img, out);
    checkBat(img, out);
    checkBatmap(img, out);
    checkBitmaps(img, out);
    checkHiddenData(img, out);
  }

  /** Data under clear bits (vhd-util check -b, but every byte, not the first of a sector). */
  private static void checkHiddenData(VhdImage img, List<Finding> out) throws IOException {
    List<HiddenData.Run> runs = HiddenData.scan(img);
    if (runs.isEmpty()) {
      return;
    }
    HiddenData.Run first = runs.get(0);
    long blocks = runs.stream().mapToInt(HiddenData.Run::block).distinct().count();
    out.add(
        Finding.repairable(
            String.format(
                "%s: %d sector(s) in %d block(s) hold non-zero data under clear bitmap bits (first:"
                    + " block %d sector %d, file offset 0x%X); no reader sees it (a crash between a"
                    + " write and its bitmap, or an older vdisk); repair zeroes it, which changes"
                    + " nothing the guest sees",
                img.name(),
                HiddenData.sectors(runs),
                blocks,
                first.block(),
                first.sector(),
                img.dataOffset(first.block()) + (long) first.sector() * VhdLayout.SECTOR)));
  }

  private static void checkParentFields(VhdImage img, List<Finding> out) throws IOException {
    String n = img.name();
    DynamicHeader h = img.header();
    if (!img.isDifferencing()) {
      for (int i = 0; i < h.locators().size(); i++) {
        if (!h.locators().get(i).equals(ParentLocator.EMPTY)) {
          out.add(
              Finding.error(
                  String.format(
                      "%s: parent locator %d of a dynamic image is not all zero (vhd-util check:"
                          + " non-zero locator)",
                      n, i)));
        }
      }
      if (h.parentUuid().getMostSignificantBits() != 0
          || h.parentUuid().getLeastSignificantBits() != 0
          || h.parentTimestamp() != 0) {
        out.add(
            Finding.warning(n + ": dynamic image has parent fields set (vhd-util check refuses)"));
      }
      return;
    }
    Set<Integer> codes = new HashSet<>();
    long size = img.fileSize();
    for (int i = 0; i < h.locators().size(); i++) {
      ParentLocator l = h.locators().get(i);
      if (!l.isUsed()) {
        if (!l.equals(ParentLocator.EMPTY)) {
          out.add(
              Finding.warning(String.format("%s: unused parent locator %d is not all zero", n, i)));
        }
        continue;
      }
      if (!codes.add(l.platformCode())) {
        out.add(
            Finding.warning(
                String.format(
                    "%s: parent locator %d: duplicate code %s",
                    n, i, ParentLocator.codeName(l.platformCode()))));
      }
      long space = l.dataSpaceBytes();
      String overlap = overlap(img, i, l);
      if (space <= 0 || l.dataOffset() <= 0 || l.dataOffset() + space > size - 511) {
        out.add(
            Finding.error(
                String.format(
                    "%s: parent locator %d (%s) at 0x%X, space %d: outside the file of %d bytes",
                    n, i, ParentLocator.codeName(l.platformCode()), l.dataOffset(), space, size)));
      } else if (overlap != null) {
        out.add(
            Finding.error(
                String.format(
                    "%s: parent locator %d (%s) at 0x%X, space %d: overlaps %s",
                    n,
                    i,
                    ParentLocator.codeName(l.platformCode()),
                    l.dataOffset(),
                    space,
                    overlap)));
      } else if (l.isDecodable()) {
        String p = ParentLocator.decodePath(l.platformCode(), VhdParent.locatorData(img, l));
        String base = p.substring(p.lastIndexOf('/') + 1);
        if (!base.equals(h.parentName())) {
          out.add(
              Finding.warning(
                  String.format(
                      "%s: parent locator %d (%s) names '%s', header parent name is '%s'",
                      n, i, ParentLocator.codeName(l.platformCode()), base, h.parentName())));
        }
      }
    }
  }

  /** What a used locator's space overlaps (another structure or a block), or null. */
  private static String overlap(VhdImage img, int index, ParentLocator l) {
    long s = l.dataOffset();
    long e = s + l.dataSpaceBytes();
    for (VhdRegions.Region r : VhdRegions.of(img)) {
      if (!r.what().equals("parent locator " + index) && r.overlaps(s, e)) {
        return r.what();
      }
    }
    int b = VhdRegions.blockOverlapping(img, s, e);
    return b >= 0 ? "block " + b : null;
  }

  /** BAT entries inside the file, after metadata, not overlapping: O(n log n). */
  private static void checkBat(VhdImage img, List<Finding> out) throws IOException {
    String n = img.name();
    BlockAllocationTable bat = img.bat();
    long span = (long) VhdLayout.bitmapBytes(img.blockSize()) + img.blockSize();
    long needed = VhdLayout.blocksFor(img.size(), img.blockSize());
    if (bat.size() < needed) {
      out.add(
          Finding.error(
              String.format(
                  "%s: BAT has %d entries, %d needed for the size", n, bat.size(), needed)));
    }
    // Sectors as ints with the sign bit flipped: sorted as signed, they are in unsigned order,
    // and a full BAT of 4 million entries costs 16 MiB here, not 32.
    int[] sectors = new int[bat.allocatedCount()];
    int k = 0;
    for (int i = 0; i < bat.size(); i++) {
      if (bat.isAllocated(i)) {
        sectors[k++] = bat.get(i) ^ Integer.MIN_VALUE;
      }
    }
    Arrays.sort(sectors);
    for (int i = 1; i < sectors.length; i++) {
      long a = unsignedSector(sectors[i - 1]) * VhdLayout.SECTOR;
      long b = unsignedSector(sectors[i]) * VhdLayout.SECTOR;
      if (b - a < span) {
        out.add(
            Finding.error(
                String.format(
                    "%s: blocks at 0x%X and 0x%X overlap (block span %d bytes)", n, a, b, span)));
        break;
      }
    }
    long fileSize = img.fileSize();
    if (sectors.length > 0) {
      long last = unsignedSector(sectors[sectors.length - 1]) * VhdLayout.SECTOR;
      long trailerAt = fileSize % 512 == 511 ? fileSize - 511 : fileSize - Footer.SIZE;
      if (last + span > trailerAt && img.trailerValid()) {
        out.add(
            Finding.error(
                String.format("%s: block at 0x%X runs into the trailing footer", n, last)));
      }
    }
  }

  private static void checkBatmap(VhdImage img, List<Finding> out) {
    Footer f = img.footer();
    if (!img.hasBatmap()
        && f.creatorApplication() == VhdLayout.CREATOR_TAP
        && Integer.compareUnsigned(f.creatorVersion(), 0x0001_0002) >= 0) {
      out.add(
          Finding.error(
              String.format(
                  "%s: a tap %d.%d image has no batmap after its BAT (vhd-util check and tapdisk"
                      + " refuse it; qemu writing into tap images overwrites it)",
                  img.name(), f.creatorVersion() >>> 16, f.creatorVersion() & 0xFFFF)));
    }
    if (!img.hasBatmap()) {
      return;
    }
    BatmapHeader h = img.batmapHeader();
    if (!img.batmapValid()) {
      out.add(
          Finding.repairable(
              String.format(
                  "%s: batmap at 0x%X: checksum does not match the map (ignored; repair rewrites it)",
                  img.name(), h.batmapOffset())));
    }
    if (Integer.compareUnsigned(h.version(), BatmapHeader.VERSION_1_2) > 0) {
      out.add(
          Finding.warning(
              String.format(
                  "%s: batmap version 0x%08X is newer than 1.2", img.name(), h.version())));
    }
  }

  /** Blocks the batmap calls full must have full bitmaps. */
  private static void checkBitmaps(VhdImage img, List<Finding> out) throws IOException {
    if (!img.batmapValid()) {
      return;
    }
    var full = img.knownFullSet();
    for (int b : full) {
      SectorBitmap bm = img.bitmap(b);
      if (!bm.isFull()) {
        out.add(
            Finding.error(
                String.format(
                    "%s: block %d is marked full in the batmap but its bitmap is not",
                    img.name(), b)));
        return;
      }
    }
  }

  private static void checkChainSizes(DiskChain chain, List<Finding> out) {
    long leafSize = chain.size();
    for (VhdImage l : chain.layers()) {
      if (l.size() < leafSize) {
        out.add(
            Finding.warning(
                String.format(
                    "%s: ancestor is smaller (%d bytes) than the leaf (%d); the rest reads as zeros",
                    l.name(), l.size(), leafSize)));
      }
    }
    if (chain.leaf().footer().type() == DiskType.DIFFERENCING && chain.depth() < 2) {
      out.add(Finding.error(chain.leaf().name() + ": differencing image without a parent"));
    }
  }
}
