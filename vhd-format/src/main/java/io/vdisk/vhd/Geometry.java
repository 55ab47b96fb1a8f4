package io.vdisk.vhd;

/**
 * CHS disk geometry as stored in the footer at offset 56: cylinders (u16), heads (u8), sectors per
 * track (u8).
 */
public record Geometry(int cylinders, int heads, int sectorsPerTrack) {
  /** The largest geometry: 65535/16/255. qemu reads {@code current_size} when it sees this. */
  public static final Geometry MAX = new Geometry(65535, 16, 255);

  public Geometry {
    if (cylinders < 0 || cylinders > 0xFFFF || heads < 0 || heads > 0xFF) {
      throw new IllegalArgumentException("geometry out of range: " + cylinders + "/" + heads);
    }
    if (sectorsPerTrack < 0 || sectorsPerTrack > 0xFF) {
      throw new IllegalArgumentException("sectors per track out of range: " + sectorsPerTrack);
    }
  }

  /**
   * The spec's CHS algorithm (Appendix, "CHS Calculation"), rounding down, over the size rounded up
   * to whole sectors as libvhd's {@code vhd_chs} does. This is what {@code vhd-util check} compares
   * against ("geometry too large" when the stored one is bigger).
   */
  public static Geometry forSize(long sizeBytes) {
    long totalSectors = Math.max(1, (sizeBytes + 511) / 512);
    long max = 65535L * 16 * 255;
    if (totalSectors > max) {
      totalSectors = max;
    }
    long spt;
    long heads;
    long cylinderTimesHeads;
    if (totalSectors >= 65535L * 16 * 63) {
      spt = 255;
      heads = 16;
      cylinderTimesHeads = totalSectors / spt;
    } else {
      spt = 17;
      cylinderTimesHeads = totalSectors / spt;
      heads = (cylinderTimesHeads + 1023) / 1024;
      if (heads < 4) {
        heads = 4;
      }
      if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
        spt = 31;
        heads = 16;
        cylinderTimesHeads = totalSectors / spt;
      }
      if (cylinderTimesHeads >= heads * 1024) {
        spt = 63;
        heads = 16;
        cylinderTimesHeads = totalSectors / spt;
      }
    }
    return new Geometry((int) (cylinderTimesHeads / heads), (int) heads, (int) spt);
  }

  /** Bytes addressable by this geometry. */
  public long capacity() {
    return (long) cylinders * heads * sectorsPerTrack * 512L;
  }

  public int pack() {
    return (cylinders << 16) | (heads << 8) | sectorsPerTrack;
  }

  public static Geometry unpack(int packed) {
    return new Geometry((packed >>> 16) & 0xFFFF, (packed >>> 8) & 0xFF, packed & 0xFF);
  }

  @Override
  public String toString() {
    return cylinders + "/" + heads + "/" + sectorsPerTrack;
  }
}
