package io.vdisk.vhd;

/** Limits and layout arithmetic shared by every VHD structure. */
public final class VhdLayout {
  public static final int SECTOR = 512;

  /** 2040 GiB: qemu's {@code VHD_MAX_SECTORS 0xff000000}, XenServer's {@code MAX_VHD_SIZE}. */
  public static final long MAX_SIZE = 0xFF00_0000L * SECTOR;

  /** Default block size, the only one qemu creates and the largest libvhd accepts. */
  public static final int DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;

  /** Smallest block size accepted: one sector. */
  public static final int MIN_BLOCK_SIZE = SECTOR;

  /** Largest block size accepted when reading other tools' images. */
  public static final int MAX_BLOCK_SIZE = 256 * 1024 * 1024;

  /** A BAT entry that points nowhere. */
  public static final int BAT_UNUSED = 0xFFFF_FFFF;

  /** Creator application {@code "tap\0"} (blktap), which qemu and XenServer both read exactly. */
  public static final int CREATOR_TAP = 0x74617000;

  /** blktap's {@code VHD_CURRENT_VERSION}: 1.3, batmap version 1.2. */
  public static final int CREATOR_VERSION_TAP_1_3 = 0x0001_0003;

  private VhdLayout() {}

  public static long roundUpToSector(long bytes) {
    return Math.addExact(bytes, SECTOR - 1) & ~(long) (SECTOR - 1);
  }

  /** Bytes of the sector bitmap that precedes each block: one bit a sector, padded to a sector. */
  public static int bitmapBytes(int blockSize) {
    int sectors = blockSize / SECTOR;
    return (int) roundUpToSector((sectors + 7) / 8);
  }

  /** Blocks needed to cover {@code size} bytes. */
  public static long blocksFor(long size, int blockSize) {
    return (size + blockSize - 1) / blockSize;
  }

  /** Bytes the BAT takes on disk: four bytes an entry, padded to a sector. */
  public static long batBytes(long entries) {
    return roundUpToSector(Math.multiplyExact(entries, 4L));
  }

  /** Bytes of blktap's batmap bit array: one bit a BAT entry, padded to a sector, at least one. */
  public static long batmapBytes(long entries) {
    return Math.max(SECTOR, roundUpToSector((entries + 7) / 8));
  }

  /** Blocks keep their data 4 KiB-aligned, as blktap places them (page-aligned I/O). */
  public static final int DATA_ALIGN = 4096;

  /**
   * Where a block goes when the file's metadata and blocks end at {@code end}: its bitmap just
   * before a {@link #DATA_ALIGN}-aligned data start, as blktap does ({@code (bat_sector +
   * bitmap_sectors) % 8 == 0}). The one placement rule for every writer of new blocks.
   */
  public static long blockStart(long end, int bitmapBytes) {
    long dataStart = Math.addExact(end, bitmapBytes);
    long aligned = Math.addExact(dataStart, DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    return aligned - bitmapBytes;
  }

  public static boolean isPowerOfTwo(long v) {
    return v > 0 && (v & (v - 1)) == 0;
  }

  /** Unsigned 32-bit creator codes as the four characters tools print ("tap\0" as "tap"). */
  public static String fourCc(int code) {
    StringBuilder sb = new StringBuilder(4);
    for (int shift = 24; shift >= 0; shift -= 8) {
      int c = (code >>> shift) & 0xFF;
      if (c == 0) {
        continue;
      }
      sb.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
    }
    return sb.toString();
  }
}
