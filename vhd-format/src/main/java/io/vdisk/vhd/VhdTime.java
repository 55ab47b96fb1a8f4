package io.vdisk.vhd;

import java.time.Instant;

/** VHD timestamps: unsigned 32-bit seconds since 2000-01-01T00:00:00Z. */
public final class VhdTime {
  /** Seconds from the Unix epoch to the VHD epoch ({@code VHD_EPOCH_START} in libvhd). */
  public static final long EPOCH_OFFSET = 946_684_800L;

  private VhdTime() {}

  public static int of(Instant instant) {
    long s = instant.getEpochSecond() - EPOCH_OFFSET;
    return (int) Math.max(0, Math.min(0xFFFF_FFFFL, s));
  }

  public static Instant toInstant(int vhdSeconds) {
    return Instant.ofEpochSecond(Integer.toUnsignedLong(vhdSeconds) + EPOCH_OFFSET);
  }
}
