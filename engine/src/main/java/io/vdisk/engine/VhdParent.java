package io.vdisk.engine;

import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.UnsupportedImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** A differencing image's link to its parent: reading its locators, and pointing it elsewhere. */
final class VhdParent {
  private VhdParent() {}

  /** The bytes a parent locator points at, bounds-checked against the file. */
  static byte[] locatorData(VhdImage img, ParentLocator l) throws IOException {
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
    VhdImage.zeroFill(b);
    return b.array();
  }

  /**
   * Points a writable differencing image at a new parent, as {@code vhd-util modify -p} does: the
   * locator slots are rewritten in place with the new relative path (refused if it does not fit a
   * slot), fsynced, then the whole header is written in one write and fsynced. Between the two, the
   * old header still finds the old parent through its parent name (locators whose UUID does not
   * match are skipped), so a crash leaves a chain that opens either way.
   */
  static void relink(
      VhdImage img, UUID parentUuid, int parentTimestamp, String parentName, String relativePath)
      throws IOException {
    if (img.isReadOnly() || !img.isDifferencing()) {
      throw new IOException(img.name() + ": only a writable differencing image can be relinked");
    }
    img.flush();
    List<ParentLocator> updated = new ArrayList<>();
    for (ParentLocator l : img.header().locators()) {
      if (!l.isUsed() || !l.isDecodable()) {
        updated.add(l);
        continue;
      }
      byte[] data = ParentLocator.encodePath(l.platformCode(), relativePath);
      long space = l.dataSpaceBytes();
      if (data.length > space) {
        throw new UnsupportedImageException(
            String.format(
                "%s: parent locator %s: new path of %d bytes does not fit its %d-byte slot",
                img.name(), ParentLocator.codeName(l.platformCode()), data.length, space));
      }
      ByteBuffer slot = ByteBuffer.allocate((int) space);
      slot.put(data).clear();
      img.storage().write(slot, l.dataOffset());
      updated.add(
          new ParentLocator(l.platformCode(), l.dataSpace(), data.length, 0, l.dataOffset()));
    }
    img.storage().force();
    img.replaceHeader(img.header().withParent(parentUuid, parentTimestamp, parentName, updated));
  }
}
