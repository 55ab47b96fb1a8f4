package io.vdisk.engine;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.image.VhdRewriter;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

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
      if (!Zeros.isZero(buf.array(), bs - from)) {
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
            VhdRewriter.rewrite(p, src, tmp, newSize);
            return null;
          });
    }
  }
}
