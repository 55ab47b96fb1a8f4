package io.vdisk.engine.image;

import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** A differencing image's link to its parent: reading its locators, and pointing it elsewhere. */
public final class VhdParent {
  private VhdParent() {}

  /** The bytes a parent locator points at, bounds-checked against the file. */
  public static byte[] locatorData(VhdImage img, ParentLocator l) throws IOException {
    long len = Integer.toUnsignedLong(l.dataLength());
    long space = l.dataSpaceBytes();
    long fileSize = img.fileSize();
    if (len == 0
        || len > 64 * 1024
        || space < 0
        || len > space
        || l.dataOffset() < 0
        || l.dataOffset() > fileSize - len) {
      throw new CorruptImageException(
          String.format(
              "%s: parent locator %s at 0x%X: length %d, space %d outside the file of %d bytes",
              img.name(),
              ParentLocator.codeName(l.platformCode()),
              l.dataOffset(),
              len,
              space,
              fileSize));
    }
    ByteBuffer b = ByteBuffer.allocate((int) len);
    img.storage().read(b, l.dataOffset());
    Zeros.fill(b);
    return b.array();
  }

  /**
   * Points a writable differencing image at a new parent, as {@code vhd-util modify -p} does: each
   * locator's new path goes into its slot in place when that slot is safe (inside the metadata, as
   * large as the path, clear of the footer copy, header, BAT, batmap, the other locators and every
   * block), else into fresh space after the last block ({@link VhdImage#appendMetadata}, exactly
   * the path padded to a sector); that is made durable, then the whole header is written in one
   * write and fsynced. A hostile or damaged header (a locator over the BAT, a slot running past the
   * end) therefore never gets anything written over another structure. Between the two steps the
   * old header still finds the old parent through its parent name (locators whose UUID does not
   * match are skipped), so a crash leaves a chain that opens either way.
   */
  public static void relink(
      VhdImage img, UUID parentUuid, int parentTimestamp, String parentName, String relativePath)
      throws IOException {
    if (img.isReadOnly() || !img.isDifferencing()) {
      throw new IOException(img.name() + ": only a writable differencing image can be relinked");
    }
    img.flush();
    List<VhdRegions.Region> regions = VhdRegions.of(img);
    List<ParentLocator> updated = new ArrayList<>();
    List<ParentLocator> locators = img.header().locators();
    for (int i = 0; i < locators.size(); i++) {
      ParentLocator l = locators.get(i);
      if (!l.isUsed() || !l.isDecodable()) {
        updated.add(l);
        continue;
      }
      byte[] data = ParentLocator.encodePath(l.platformCode(), relativePath);
      if (slotIsSafe(img, regions, i, l, data.length)) {
        ByteBuffer slot = ByteBuffer.allocate((int) l.dataSpaceBytes());
        slot.put(data).clear();
        img.storage().write(slot, l.dataOffset());
        updated.add(
            new ParentLocator(l.platformCode(), l.dataSpace(), data.length, 0, l.dataOffset()));
      } else {
        int space = (int) VhdLayout.roundUpToSector(data.length);
        ByteBuffer fresh = ByteBuffer.allocate(space);
        fresh.put(data).clear();
        long at = img.appendMetadata(fresh);
        updated.add(new ParentLocator(l.platformCode(), space, data.length, 0, at));
      }
    }
    img.storage().force();
    img.replaceHeader(img.header().withParent(parentUuid, parentTimestamp, parentName, updated));
  }

  /** True when locator {@code index}'s slot may take {@code length} bytes in place. */
  private static boolean slotIsSafe(
      VhdImage img, List<VhdRegions.Region> regions, int index, ParentLocator l, int length) {
    long start = l.dataOffset();
    long space = l.dataSpaceBytes();
    if (space < length || start < Footer.SIZE || start % VhdLayout.SECTOR != 0) {
      return false;
    }
    long end = start + space;
    if (end > img.dataEnd()) {
      return false; // past the metadata and blocks: the trailing footer, or the file's end
    }
    String self = "parent locator " + index;
    return regions.stream().noneMatch(r -> !r.what().equals(self) && r.overlaps(start, end))
        && VhdRegions.blockOverlapping(img, start, end) < 0;
  }
}
