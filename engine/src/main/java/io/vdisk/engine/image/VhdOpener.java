package io.vdisk.engine.image;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.Zeros;
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
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and vets an image's metadata before {@link VhdImage} trusts it. Every header number is
 * hostile until checked: offsets inside the file, counts within limits, sizes at most 2040 GiB.
 * Only what would make reading unsafe is refused here; everything else is for {@link
 * io.vdisk.engine.ImageChecker}.
 */
final class VhdOpener {
  /**
   * The most blocks vdisk takes in one image: 4,194,304 (a 2040 GiB disk of 512 KiB blocks; of 2
   * MiB blocks, XenServer's and qemu's, it needs 1,044,480). Each costs 4 bytes of BAT and 2 of the
   * chain's index in memory, so an image can never ask for more than about 24 MiB; a header that
   * claims more (2040 GiB in 4 KiB blocks is 534 million) is refused before anything is allocated.
   */
  static final long MAX_BLOCKS = 1L << 22;

  /** The BAT is read in pieces of this many bytes, never all at once. */
  private static final int BAT_PIECE = 1 << 20;

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
    if (entries > MAX_BLOCKS || needed > MAX_BLOCKS) {
      throw new UnsupportedImageException(
          String.format(
              "%s: %d blocks of %d bytes; vdisk takes at most %d blocks in an image (use larger"
                  + " blocks: vdisk convert writes 2 MiB ones)",
              name, Math.max(entries, needed), blockSize, MAX_BLOCKS));
    }
    long tOff = header.tableOffset();
    long batBytes = VhdLayout.batBytes(entries);
    if (tOff < 0 || tOff % 512 != 0 || tOff > len - batBytes) {
      throw new CorruptImageException(
          String.format(
              "%s: BAT at 0x%X of %d bytes: expected a sector inside the file of %d bytes",
              name, tOff, batBytes, len));
    }
    BlockAllocationTable bat = BlockAllocationTable.empty((int) entries);
    ByteBuffer piece = ByteBuffer.allocate((int) Math.min(BAT_PIECE, batBytes));
    for (long done = 0; done < entries * 4; ) {
      piece.clear().limit((int) Math.min(piece.capacity(), entries * 4 - done));
      s.read(piece, Math.addExact(tOff, done));
      Zeros.fill(piece);
      bat.load((int) (done / 4), piece.flip());
      done += piece.limit();
    }

    // Where metadata lies: blocks may not overlap any of it (they may come before a locator that
    // a relink moved after them, or that another tool wrote at the end).
    List<long[]> metadata = new ArrayList<>();
    metadata.add(new long[] {0, Footer.SIZE});
    metadata.add(new long[] {hOff, hOff + DynamicHeader.SIZE});
    metadata.add(new long[] {tOff, tOff + batBytes});
    for (ParentLocator l : header.locators()) {
      long space = l.dataSpaceBytes();
      if (l.isUsed() && space > 0 && l.dataOffset() > 0 && l.dataOffset() <= len - space) {
        metadata.add(new long[] {l.dataOffset(), l.dataOffset() + space});
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
          metadata.add(new long[] {h.batmapOffset(), h.batmapOffset() + mapBytes});
        }
        metadata.add(new long[] {bmhOff, bmhOff + BatmapHeader.SIZE});
      }
    }

    int bitmapBytes = VhdLayout.bitmapBytes((int) blockSize);
    long span = bitmapBytes + blockSize;
    long dataEnd = 0;
    for (long[] m : metadata) {
      dataEnd = Math.max(dataEnd, m[1]);
    }
    long metadataEnd = dataEnd;
    for (int i = 0; i < bat.size(); i++) {
      long sector = bat.sectorOf(i);
      if (sector < 0) {
        continue;
      }
      long start = sector * VhdLayout.SECTOR;
      long end = start + span;
      if (start >= len) {
        throw new CorruptImageException(
            String.format(
                "%s: BAT entry %d at 0x%X: block at 0x%X is past the end of the file (%d bytes)",
                name, i, tOff + 4L * i, start, len));
      }
      if (start < metadataEnd) {
        for (long[] m : metadata) {
          if (start < m[1] && m[0] < end) {
            throw new CorruptImageException(
                String.format(
                    "%s: BAT entry %d at 0x%X: block at 0x%X overlaps metadata at 0x%X..0x%X",
                    name, i, tOff + 4L * i, start, m[0], m[1]));
          }
        }
      }
      dataEnd = Math.max(dataEnd, end);
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
   * The parent UUID a differencing image names, from its footer and header only (no BAT read, and
   * nothing else vetted): for listing a directory's children cheaply, and for seeing that an image
   * names a parent even when it is too damaged to open. Null for any other file.
   */
  static java.util.UUID parentOf(Storage s) throws IOException {
    long len = s.size();
    if (len < Footer.SIZE) {
      return null;
    }
    FooterRead copy = readFooter(s, 0, Footer.SIZE);
    FooterRead trailer =
        readFooter(
            s, len % 512 == 511 ? len - 511 : len - Footer.SIZE, len % 512 == 511 ? 511 : 512);
    Footer f = copy.ok() ? copy.footer : trailer.ok() ? trailer.footer : null;
    if (f == null || f.type() != DiskType.DIFFERENCING) {
      return null;
    }
    long hOff = f.dataOffset();
    if (hOff < Footer.SIZE || hOff > len - DynamicHeader.SIZE) {
      return null;
    }
    ByteBuffer hb = ByteBuffer.allocate(DynamicHeader.SIZE);
    s.read(hb, hOff);
    try {
      DynamicHeader h = DynamicHeader.parse(hb.flip());
      return h.checksumValid() ? h.parentUuid() : null;
    } catch (CorruptImageException e) {
      return null;
    }
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
