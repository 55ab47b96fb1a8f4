package io.vdisk.engine;

import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
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
    VhdCreator.validateSize(newSize);
    long oldSize;
    boolean needsRewrite;
    try (VhdImage img = VhdImage.open(p.open(path, false), false)) {
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
    Path tmp = path.resolveSibling("." + path.getFileName() + ".resize");
    if (java.nio.file.Files.exists(tmp)) {
      p.delete(tmp); // a crashed earlier attempt; the original is intact
    }
    try (VhdImage src = VhdImage.open(p.open(path, true), true)) {
      int bs = src.blockSize();
      int entries = (int) VhdLayout.blocksFor(newSize, bs);
      DynamicHeader oldHeader = src.header();
      long tableOffset = Footer.SIZE + DynamicHeader.SIZE;
      long batBytes = VhdLayout.batBytes(entries);
      long batmapHeaderOffset = tableOffset + batBytes;
      long batmapOffset = batmapHeaderOffset + BatmapHeader.SIZE;
      long batmapBytes = VhdLayout.batmapBytes(entries);
      long end = batmapOffset + batmapBytes;
      List<ParentLocator> locators = new ArrayList<>();
      List<byte[]> locatorData = new ArrayList<>();
      for (ParentLocator l : oldHeader.locators()) {
        if (!l.isUsed()) {
          continue;
        }
        byte[] data = src.readLocatorData(l);
        long space = VhdLayout.roundUpToSector(data.length);
        locators.add(new ParentLocator(l.platformCode(), (int) space, data.length, 0, end));
        locatorData.add(data);
        end += space;
      }
      DynamicHeader header =
          new DynamicHeader(
              -1L,
              tableOffset,
              DynamicHeader.HEADER_VERSION,
              entries,
              bs,
              0,
              oldHeader.parentUuid(),
              oldHeader.parentTimestamp(),
              0,
              oldHeader.parentUnicodeName(),
              locators,
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
              io.vdisk.vhd.Geometry.forSize(newSize),
              f.diskType(),
              0,
              f.uniqueId(),
              f.savedState(),
              f.hidden(),
              null);
      BlockAllocationTable bat = BlockAllocationTable.empty(entries);
      byte[] map = new byte[(int) batmapBytes];
      int bitmapBytes = VhdLayout.bitmapBytes(bs);
      long span = bitmapBytes + bs;
      try (Storage out = p.create(tmp)) {
        long next = alignBlock(end, bitmapBytes);
        ByteBuffer block = ByteBuffer.allocate((int) span);
        int copy = Math.min(entries, src.bat().size());
        for (int b = 0; b < copy; b++) {
          if (!src.isAllocated(b)) {
            continue;
          }
          block.clear();
          src.storage().read(block, src.bitmapOffset(b));
          VhdImage.zeroFill(block);
          block.flip();
          out.write(block, next);
          bat.set(b, next / VhdLayout.SECTOR);
          if (src.isKnownFull(b) || src.bitmap(b).isFull()) {
            map[b >>> 3] |= (byte) (0x80 >>> (b & 7));
          }
          next = alignBlock(next + span, bitmapBytes);
        }
        long dataEnd = 0;
        for (int b = 0; b < entries; b++) {
          if (bat.isAllocated(b)) {
            dataEnd = Math.max(dataEnd, bat.sectorOf(b) * VhdLayout.SECTOR + span);
          }
        }
        dataEnd = Math.max(dataEnd, end);
        ByteBuffer meta = ByteBuffer.allocate((int) end);
        footer.writeTo(meta);
        header.writeTo(meta);
        bat.writeTo(meta);
        new BatmapHeader(
                batmapOffset, (int) (batmapBytes / 512), BatmapHeader.VERSION_1_2, 0, 0, null)
            .writeTo(meta, map);
        meta.put(map);
        for (int i = 0; i < locators.size(); i++) {
          meta.put((int) locators.get(i).dataOffset(), locatorData.get(i));
        }
        meta.clear();
        out.write(meta, 0);
        out.write(footer.toBuffer(), dataEnd);
        out.force();
      }
    } catch (IOException | RuntimeException e) {
      p.delete(tmp);
      throw e;
    }
    p.move(tmp, path);
  }

  private static long alignBlock(long end, int bitmapBytes) {
    long data = end + bitmapBytes;
    return (data + 4095) / 4096 * 4096 - bitmapBytes;
  }
}
