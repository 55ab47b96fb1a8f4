package io.vdisk.engine.image;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.Batmap;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.Geometry;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites a dynamic or differencing image into a new file with a BAT for another size: same UUID,
 * type, parent fields and locators, every allocated block's bitmap and data copied verbatim and
 * placed by {@link VhdLayout#blockStart}, the one placement rule {@link VhdImage} also uses. The
 * caller publishes the new file (see {@code Publisher}).
 */
public final class VhdRewriter {
  private VhdRewriter() {}

  /** Writes {@code src} with a BAT for {@code newSize} into a new file at {@code tmp}. */
  public static void rewrite(StorageProvider p, VhdImage src, Path tmp, long newSize)
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
    Batmap map = Batmap.empty(layout.batmapBytes());
    int bitmapBytes = VhdLayout.bitmapBytes(bs);
    long span = (long) bitmapBytes + bs;
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
        Zeros.fill(block);
        out.write(block.flip(), next);
        bat.set(b, next / VhdLayout.SECTOR);
        if (src.isKnownFull(b) || src.bitmap(b).isFull()) {
          map.setFull(b);
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
