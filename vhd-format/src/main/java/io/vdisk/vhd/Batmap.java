package io.vdisk.vhd;

import java.util.Arrays;

/**
 * The batmap's map: one bit a block, most significant bit first (byte 0 bit 7 is block 0), set when
 * the block's sector bitmap is full (blktap's {@code vhd_batmap_test}). A set bit is a hint that
 * lets readers skip the bitmap; a clear bit promises nothing. Bits past the map's end read as clear
 * and are never stored, so a short map written by another tool is safe to use.
 */
public final class Batmap {
  private final byte[] bits;

  private Batmap(byte[] bits) {
    this.bits = bits;
  }

  /** An all-clear map of {@code bytes} bytes (a whole number of sectors, as on disk). */
  public static Batmap empty(long bytes) {
    return new Batmap(new byte[Math.toIntExact(bytes)]);
  }

  /** The map over {@code bits}, which it then owns (read from the file). */
  public static Batmap wrap(byte[] bits) {
    return new Batmap(bits);
  }

  public boolean isFull(int block) {
    return block >= 0
        && block / 8 < bits.length
        && (bits[block >>> 3] & (0x80 >>> (block & 7))) != 0;
  }

  /** Sets a block's bit; true when the map changed (false too for a block past its end). */
  public boolean setFull(int block) {
    if (block < 0 || block / 8 >= bits.length || isFull(block)) {
      return false;
    }
    bits[block >>> 3] |= (byte) (0x80 >>> (block & 7));
    return true;
  }

  /** Clears a block's bit; true when the map changed. */
  public boolean clearFull(int block) {
    if (!isFull(block)) {
      return false;
    }
    bits[block >>> 3] &= (byte) ~(0x80 >>> (block & 7));
    return true;
  }

  public void clearAll() {
    Arrays.fill(bits, (byte) 0);
  }

  /** The map's bytes as stored (shared, not copied: write them, do not change them). */
  public byte[] bytes() {
    return bits;
  }
}
