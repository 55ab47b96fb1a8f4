package io.vdisk.vhd;

import java.nio.ByteBuffer;

/**
 * The VHD checksum: the one's complement of the sum of all bytes of a structure, taken with its own
 * checksum field read as zero (spec, "Hard Disk Footer Format"; identical in qemu's {@code
 * vpc_checksum} and libvhd's {@code vhd_checksum_footer/header}).
 */
public final class Checksum {
  private Checksum() {}

  /**
   * Checksum of {@code length} bytes of {@code buf} from absolute index {@code from}, skipping the
   * four bytes of the checksum field at {@code from + fieldOffset}.
   */
  public static int of(ByteBuffer buf, int from, int length, int fieldOffset) {
    int sum = 0;
    for (int i = 0; i < length; i++) {
      if (i >= fieldOffset && i < fieldOffset + 4) {
        continue;
      }
      sum += buf.get(from + i) & 0xFF;
    }
    return ~sum;
  }

  /** Checksum of all bytes, as blktap computes it over a batmap (version 1.2: unsigned bytes). */
  public static int ofAll(byte[] bytes, int length) {
    int sum = 0;
    for (int i = 0; i < length; i++) {
      sum += bytes[i] & 0xFF;
    }
    return ~sum;
  }
}
