package io.vdisk.engine;

import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.Geometry;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Changes the virtual size of a dynamic or differencing image.
 *
 * <ul>
 *   <li>Within the BAT's capacity, only the footers change: the trailing one, then the copy at
 *       offset 0 (one sector each; the copy at 0 is what opening trusts, so the switch is atomic).
 *   <li>Beyond it, the image is rewritten into a new file with a larger BAT (same UUID, type,
 *       parent fields and locators, every block's bitmap and data copied verbatim), fsynced, and
 *       renamed over the original: the name always holds a whole old or whole new image.
 *   <li>Shrinking needs {@code allowShrink} and refuses to drop non-zero data held in this layer
 *       past the new end; blocks past it are released, and the tail of the new last block zeroed,
 *       so that growing again later reads zeros there.
 * </ul>
 *
 * Fixed images are refused: growing one in place has a window where a stale footer would show
 * inside the new space (convert it to dynamic first).
 */
public final class Resizer {
  private Resizer() {}

  public static void resize(StorageProvider p, Path path, long newSize, boolean allowShrink)
      throws IOException {
    resize(p, path, newSize, allowShrink, WriteRule.Grant.USER);
  }

  /** As above, after {@link WriteRule} with {@code grant}: a parent others read is refused. */
  public static void resize(
      StorageProvider p, Path path, long newSize, boolean allowShrink, WriteRule.Grant grant)
      throws IOException {
    VhdCreator.validateSize(newSize);
    long oldSize;
    boolean needsRewrite;
    try (VhdImage img = VhdImage.open(p.open(path, false), false)) {
      WriteRule.check(path, img, grant);
      if (img.isFixed()) {
        throw new UnsupportedImageException(
            path + ": resizing a fixed image is not supported; convert it to dynamic first");
      }
      oldSize = img.size();
      if (newSize == oldSize) {
        return;
      }
      if (newSize < oldSize) {
        if (!allowShrink) {
          throw new UnsupportedImageException(
              String.format(
                  "%s: new size %d is smaller than %d; pass --shrink to shrink",
                  path, newSize, oldSize));
        }
        releaseTail(img, newSize);
      }
      long needed = VhdLayout.blocksFor(newSize, img.blockSize());
      needsRewrite = needed > img.bat().size();
      if (!needsRewrite) {
        img.setSize(newSize);
        return;
      }
    }
    rewrite(p, path, newSize);
  }

  /** Refuses to drop data past {@code newSize}; then releases those blocks and zeroes the tail. */
  private static void releaseTail(VhdImage img, long newSize) throws IOException {
    int bs = img.blockSize();
    int lastBlock = (int) ((newSize - 1) / bs);
    ByteBuffer buf = ByteBuffer.allocate(bs);
    long dropped = 0;
    for (int b = lastBlock; b < img.bat().size(); b++) {
      if (!img.isAllocated(b)) {
        continue;
      }
      int from = b == lastBlock ? (int) (newSize - (long) b * bs) : 0;
      if (from >= bs) {
        continue;
      }
      buf.clear().limit(bs - from);
      img.readData(b, from, buf);
      if (!RawDisk.isZero(buf.array(), bs - from)) {
        dropped += bs - from;
      }
    }
    if (dropped > 0) {
      throw new UnsupportedImageException(
          String.format(
              "%s: shrinking to %d bytes would drop allocated non-zero data past the new end"
                  + " (in blocks %d..%d); move it first",
              img.name(), newSize, lastBlock, img.bat().size() - 1));
    }
    int tailSector = (int) ((newSize - (long) lastBlock * bs + 511) / 512);
    if (img.isAllocated(lastBlock) && tailSector * 512 < bs) {
      img.writeSectors(lastBlock, tailSector, ByteBuffer.allocate(bs - tailSector * 512));
    }
    img.releaseBlocksFrom(lastBlock + 1);
    img.flush();
  }

  /** Rewrites the image with a BAT for {@code newSize}, then renames it over the original. */
  private static void rewrite(StorageProvider p, Path path, long newSize) throws IOException {
    try (VhdImage src = VhdImage.open(p.open(path, true), true)) {
      Publisher.publish(
          p,
          path,
          "resize",
          true,
          tmp -> {
            copyInto(p, src, tmp, newSize);
            return null;
          });
    }
  }

  /** Writes {@code src} with a BAT for {@code newSize} into a new file at {@code tmp}. */
  private static void copyInto(StorageProvider p, VhdImage src, Path tmp, long newSize)
      throws IOException {
    int bs = src.blockSize();
    int entries = (int) VhdLayout.blocksFor(newSize, bs);
    DynamicHeader old = src.header();
    List<DynamicLayout.Locator> paths = new ArrayList<>();
    for (ParentLocator l : old.locators()) {
      if (l.isUsed()) {
        paths.add(new DynamicLayout.Locator(l.platformCode(), VhdParent.locatorData(src, l)));
      }
    }
    DynamicLayout layout = DynamicLayout.of(entries, paths);
    DynamicHeader header =
        new DynamicHeader(
            -1L,
            layout.tableOffset(),
            DynamicHeader.HEADER_VERSION,
            entries,
            bs,
            0,
            old.parentUuid(),
            old.parentTimestamp(),
            0,
            old.parentUnicodeName(),
            layout.locators(),
            null);
    Footer f = src.footer();
    Footer footer =
        new Footer(
            f.features(),
            f.formatVersion(),
            Footer.SIZE,
            f.timestamp(),
            VhdLayout.CREATOR_TAP,
            VhdLayout.CREATOR_VERSION_TAP_1_3,
            f.creatorHostOs(),
            f.originalSize(),
            newSize,
            Geometry.forSize(newSize),
            f.diskType(),
            0,
            f.uniqueId(),
            f.savedState(),
            f.hidden(),
            null);
    BlockAllocationTable bat = BlockAllocationTable.empty(entries);
    byte[] map = new byte[(int) layout.batmapBytes()];
    int bitmapBytes = VhdLayout.bitmapBytes(bs);
    long span = bitmapBytes + bs;
    try (Storage out = p.create(tmp)) {
      long next = VhdLayout.blockStart(layout.end(), bitmapBytes);
      long dataEnd = layout.end();
      ByteBuffer block = ByteBuffer.allocateDirect((int) span);
      for (int b = 0; b < Math.min(entries, src.bat().size()); b++) {
        if (!src.isAllocated(b)) {
          continue;
        }
        block.clear();
        src.storage().read(block, src.bitmapOffset(b));
        VhdImage.zeroFill(block);
        out.write(block.flip(), next);
        bat.set(b, next / VhdLayout.SECTOR);
        if (src.isKnownFull(b) || src.bitmap(b).isFull()) {
          map[b >>> 3] |= (byte) (0x80 >>> (b & 7));
        }
        dataEnd = next + span;
        next = VhdLayout.blockStart(dataEnd, bitmapBytes);
      }
      out.write(layout.metadata(footer, header, bat, map), 0);
      out.write(footer.toBuffer(), dataEnd);
      out.force();
    }
  }
}
