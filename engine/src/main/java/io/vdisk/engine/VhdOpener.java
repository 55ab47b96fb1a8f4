package io.vdisk.engine;

import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads and vets an image's metadata before {@link VhdImage} trusts it. Every header number is
 * hostile until checked: offsets inside the file, counts within limits, sizes at most 2040 GiB.
 * Only what would make reading unsafe is refused here; everything else is for {@link ImageChecker}.
 */
final class VhdOpener {
  private VhdOpener() {}

  /** A footer read from one place, or why it could not be used. */
  private record FooterRead(Footer footer, String problem) {
    boolean ok() {
      return footer != null && problem == null;
    }
  }

  static OpenState read(Storage s) throws IOException {
    String name = s.name();
    long len = s.size();
    if (len < Footer.SIZE) {
      throw new CorruptImageException(
          name + ": file of " + len + " bytes is too short for a VHD footer (512 bytes)");
    }
    long trailerAt = len % 512 == 511 ? len - 511 : len - Footer.SIZE;
    FooterRead trailer = readFooter(s, trailerAt, len % 512 == 511 ? 511 : Footer.SIZE);
    FooterRead copy = readFooter(s, 0, Footer.SIZE);

    Footer footer;
    boolean trailerValid;
    boolean copyValid = copy.ok();
    if (trailer.ok() && trailer.footer.type() == DiskType.FIXED) {
      footer = trailer.footer;
      trailerValid = true;
      copyValid = true; // fixed images have no copy at offset 0
    } else if (copy.ok()) {
      footer = copy.footer;
      trailerValid = trailer.ok() && trailer.footer.equals(copy.footer);
      if (!trailerValid && trailer.ok() && copy.footer.isEarlyTap()) {
        // Early tapdisk set hidden in the copy at 0 only (vhd_hidden reads it there), so the
        // trailing footer legitimately differs in that flag (vhd-util check allows it).
        trailerValid = trailer.footer.sameButHidden(copy.footer);
      }
    } else if (trailer.ok()) {
      footer = trailer.footer;
      trailerValid = true;
    } else {
      throw new CorruptImageException(
          String.format(
              "%s: footer at 0x%X: %s; copy at offset 0: %s",
              name, trailerAt, trailer.problem, copy.problem));
    }
    if (footer.creatorApplication() == VhdLayout.CREATOR_TAP && footer.creatorVersion() == 1) {
      throw new UnsupportedImageException(
          name + ": a tapdisk 0.1 image (little-endian bitmaps), which libvhd refuses too");
    }
    DiskType type = footer.type();
    if (type == null) {
      throw new UnsupportedImageException(
          name
              + ": footer disk type "
              + footer.diskType()
              + " is not fixed (2), dynamic (3) or"
              + " differencing (4)");
    }
    long size = footer.currentSize();
    if (size < 0 || size > VhdLayout.MAX_SIZE) {
      throw new UnsupportedImageException(
          String.format(
              "%s: virtual size %d bytes is above the VHD limit of 2040 GiB (%d bytes)",
              name, size, VhdLayout.MAX_SIZE));
    }
    if (type == DiskType.FIXED) {
      if (len < size + Footer.SIZE - 1) {
        throw new CorruptImageException(
            String.format(
                "%s: fixed image of %d bytes needs %d bytes of data and footer, found %d",
                name, size, size + Footer.SIZE, len));
      }
      return new OpenState(
          footer, null, null, VhdLayout.DEFAULT_BLOCK_SIZE, null, null, 0, false, size, true, true);
    }
    return readDynamic(s, name, len, footer, trailerValid, copyValid, trailerAt);
  }

  private static OpenState readDynamic(
      Storage s,
      String name,
      long len,
      Footer footer,
      boolean trailerValid,
      boolean copyValid,
      long trailerAt)
      throws IOException {
    long hOff = footer.dataOffset();
    if (hOff < Footer.SIZE || hOff % 512 != 0 || hOff > len - DynamicHeader.SIZE) {
      throw new CorruptImageException(
          String.format(
              "%s: footer data offset 0x%X: expected a sector inside the file of %d bytes",
              name, hOff, len));
    }
    ByteBuffer hb = ByteBuffer.allocate(DynamicHeader.SIZE);
    s.read(hb, hOff);
    hb.flip();
    DynamicHeader header;
    try {
      header = DynamicHeader.parse(hb);
    } catch (CorruptImageException e) {
      throw new CorruptImageException(
          String.format("%s: dynamic header at 0x%X: %s", name, hOff, e.getMessage()), e);
    }
    if (!header.checksumValid()) {
      throw new CorruptImageException(
          String.format(
              "%s: dynamic header at 0x%X: checksum expected 0x%08X, found 0x%08X",
              name, hOff, header.computedChecksum(), header.storedChecksum()));
    }
    long blockSize = header.blockSizeUnsigned();
    if (!VhdLayout.isPowerOfTwo(blockSize)
        || blockSize < VhdLayout.MIN_BLOCK_SIZE
        || blockSize > VhdLayout.MAX_BLOCK_SIZE) {
      throw new UnsupportedImageException(
          String.format(
              "%s: dynamic header at 0x%X: block size %d is not a power of two from 512 B to 256"
                  + " MiB",
              name, hOff, blockSize));
    }
    long entries = header.entries();
    long needed = VhdLayout.blocksFor(footer.currentSize(), (int) blockSize);
    long maxEntries = VhdLayout.blocksFor(VhdLayout.MAX_SIZE, (int) blockSize);
    if (entries < needed || entries > Math.max(maxEntries, needed)) {
      throw new CorruptImageException(
          String.format(
              "%s: dynamic header at 0x%X: max table entries expected %d..%d for %d bytes, found"
                  + " %d",
              name, hOff, needed, maxEntries, footer.currentSize(), entries));
    }
    long tOff = header.tableOffset();
    long batBytes = VhdLayout.batBytes(entries);
    if (tOff < 0 || tOff % 512 != 0 || tOff > len - batBytes) {
      throw new CorruptImageException(
          String.format(
              "%s: BAT at 0x%X of %d bytes: expected a sector inside the file of %d bytes",
              name, tOff, batBytes, len));
    }
    ByteBuffer bb = ByteBuffer.allocate((int) batBytes);
    s.read(bb, tOff);
    bb.flip();
    BlockAllocationTable bat = BlockAllocationTable.parse(bb, (int) entries);

    long metadataEnd = Math.max(Math.max(Footer.SIZE, hOff + DynamicHeader.SIZE), tOff + batBytes);
    for (ParentLocator l : header.locators()) {
      long space = l.dataSpaceBytes();
      if (l.isUsed() && space > 0 && l.dataOffset() > 0 && l.dataOffset() <= len - space) {
        metadataEnd = Math.max(metadataEnd, l.dataOffset() + space);
      }
    }

    BatmapHeader batmapHeader = null;
    byte[] batmap = null;
    boolean batmapValid = false;
    long bmhOff = tOff + batBytes;
    if (footer.creatorApplication() == VhdLayout.CREATOR_TAP
        && Integer.compareUnsigned(footer.creatorVersion(), 0x0001_0002) >= 0
        && bmhOff <= len - BatmapHeader.SIZE) {
      ByteBuffer mh = ByteBuffer.allocate(BatmapHeader.SIZE);
      s.read(mh, bmhOff);
      mh.flip();
      if (BatmapHeader.hasCookie(mh)) {
        BatmapHeader h = BatmapHeader.parse(mh);
        long mapBytes = h.mapBytes();
        if (h.batmapOffset() >= bmhOff + BatmapHeader.SIZE
            && mapBytes >= (entries + 7) / 8
            && mapBytes <= VhdLayout.batmapBytes(entries) * 2
            && h.batmapOffset() <= len - mapBytes) {
          batmapHeader = h;
          batmap = new byte[(int) mapBytes];
          s.read(ByteBuffer.wrap(batmap), h.batmapOffset());
          batmapValid = h.checksumOf(batmap) == h.storedChecksum();
          metadataEnd = Math.max(metadataEnd, h.batmapOffset() + mapBytes);
        }
        metadataEnd = Math.max(metadataEnd, bmhOff + BatmapHeader.SIZE);
      }
    }

    int bitmapBytes = VhdLayout.bitmapBytes((int) blockSize);
    long span = bitmapBytes + blockSize;
    long dataEnd = metadataEnd;
    for (int i = 0; i < bat.size(); i++) {
      long sector = bat.sectorOf(i);
      if (sector < 0) {
        continue;
      }
      long start = sector * VhdLayout.SECTOR;
      if (start < metadataEnd || start >= len) {
        throw new CorruptImageException(
            String.format(
                "%s: BAT entry %d at 0x%X: block at 0x%X expected inside 0x%X..0x%X (after"
                    + " metadata, inside the file)",
                name, i, tOff + 4L * i, start, metadataEnd, len));
      }
      dataEnd = Math.max(dataEnd, start + span);
    }
    if (trailerValid && trailerAt < dataEnd) {
      // A valid-looking footer that a block overlaps is stale, not the real trailer.
      trailerValid = false;
    }
    return new OpenState(
        footer,
        header,
        bat,
        (int) blockSize,
        batmapHeader,
        batmap,
        bmhOff,
        batmapValid,
        dataEnd,
        trailerValid,
        copyValid);
  }

  /**
   * A raw file as a parent layer (what {@code vhd-util snapshot -m} makes a child over): it reads
   * as a fixed image of the file's size, described by a footer of vdisk's making.
   */
  static OpenState readRaw(Storage s) throws IOException {
    long size = s.size();
    Footer f =
        Footer.create(DiskType.FIXED, size, new java.util.UUID(0, 0), 0, Footer.NO_DATA_OFFSET);
    return new OpenState(
        f, null, null, VhdLayout.DEFAULT_BLOCK_SIZE, null, null, 0, false, size, true, true);
  }

  private static FooterRead readFooter(Storage s, long at, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(Footer.SIZE);
    b.limit(length);
    s.read(b, at);
    b.clear();
    try {
      Footer f = Footer.parse(b);
      if (!f.checksumValid()) {
        return new FooterRead(
            f,
            String.format(
                "checksum expected 0x%08X, found 0x%08X",
                f.computedChecksum(), f.storedChecksum()));
      }
      return new FooterRead(f, null);
    } catch (CorruptImageException e) {
      return new FooterRead(null, e.getMessage().replace("footer: ", ""));
    }
  }

  /** What the opener found; {@link VhdImage}'s constructor takes it whole. */
  record OpenState(
      Footer footer,
      DynamicHeader header,
      BlockAllocationTable bat,
      int blockSize,
      BatmapHeader batmapHeader,
      byte[] batmap,
      long batmapHeaderOffset,
      boolean batmapValid,
      long dataEnd,
      boolean trailerValid,
      boolean copyAtZeroValid) {}
}
