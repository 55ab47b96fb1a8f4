package io.vdisk.engine.io;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** The one place that tests bytes for zero and fills buffers with zeros (both vectorised). */
public final class Zeros {
  private static final int PROBE = 64 * 1024;
  private static final byte[] ZEROS = new byte[PROBE];
  private static final ByteBuffer DIRECT_ZEROS = ByteBuffer.allocateDirect(PROBE);

  private Zeros() {}

  /** True when the remaining bytes of {@code b} are zero; {@code b}'s position does not move. */
  public static boolean isZero(ByteBuffer b) {
    for (int off = b.position(); off < b.limit(); off += PROBE) {
      int len = Math.min(PROBE, b.limit() - off);
      if (b.slice(off, len).mismatch(DIRECT_ZEROS.slice(0, len)) >= 0) {
        return false;
      }
    }
    return true;
  }

  /** True when the first {@code n} bytes of {@code a} are zero. */
  public static boolean isZero(byte[] a, int n) {
    int off = 0;
    while (off < n) {
      int len = Math.min(PROBE, n - off);
      if (Arrays.mismatch(a, off, off + len, ZEROS, 0, len) >= 0) {
        return false;
      }
      off += len;
    }
    return true;
  }

  /** Fills the remaining bytes of {@code dst} with zeros, leaving its position at its limit. */
  public static void fill(ByteBuffer dst) {
    while (dst.remaining() >= PROBE) {
      dst.put(DIRECT_ZEROS.duplicate());
    }
    dst.put(DIRECT_ZEROS.slice(0, dst.remaining()));
  }
}
