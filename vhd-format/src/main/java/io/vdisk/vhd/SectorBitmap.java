package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The sector bitmap before each data block: one bit a sector, most significant bit first (byte 0
 * bit 7 is sector 0; blktap {@code test_bit}), padded to a whole sector. In a differencing disk a
 * set bit means "this sector is in this file"; clear means "ask the parent".
 */
public final class SectorBitmap {
  private final byte[] bits;
  private final int sectors;

  private SectorBitmap(byte[] bits, int sectors) {
    this.bits = bits;
    this.sectors = sectors;
  }

  public static SectorBitmap empty(int blockSize) {
    return new SectorBitmap(new byte[VhdLayout.bitmapBytes(blockSize)], blockSize / 512);
  }

  public static SectorBitmap full(int blockSize) {
    SectorBitmap b = empty(blockSize);
    b.setRange(0, b.sectors);
    return b;
  }

  public static SectorBitmap parse(ByteBuffer src, int blockSize) {
    byte[] bits = new byte[VhdLayout.bitmapBytes(blockSize)];
    src.get(bits);
    return new SectorBitmap(bits, blockSize / 512);
  }

  public void writeTo(ByteBuffer dst) {
    dst.put(bits);
  }

  public ByteBuffer toBuffer() {
    return ByteBuffer.wrap(bits.clone());
  }

  public int sectors() {
    return sectors;
  }

  public int sizeInBytes() {
    return bits.length;
  }

  public boolean get(int sector) {
    return (bits[sector >>> 3] & (0x80 >>> (sector & 7))) != 0;
  }

  public void set(int sector) {
    bits[sector >>> 3] |= (byte) (0x80 >>> (sector & 7));
  }

  /** Sets sectors [from, to). */
  public void setRange(int from, int to) {
    int i = from;
    while (i < to && (i & 7) != 0) {
      set(i++);
    }
    while (i + 8 <= to) {
      bits[i >>> 3] = (byte) 0xFF;
      i += 8;
    }
    while (i < to) {
      set(i++);
    }
  }

  /** Index of the first sector at or after {@code from} whose bit equals {@code value}, or to. */
  public int next(int from, int to, boolean value) {
    int i = from;
    while (i < to) {
      int b = bits[i >>> 3] & 0xFF;
      if ((i & 7) == 0 && i + 8 <= to && b == (value ? 0xFF : 0x00)) {
        return i;
      }
      if ((i & 7) == 0 && i + 8 <= to && b == (value ? 0x00 : 0xFF)) {
        i += 8;
        continue;
      }
      if (get(i) == value) {
        return i;
      }
      i++;
    }
    return to;
  }

  public boolean isFull() {
    return next(0, sectors, false) == sectors;
  }

  public boolean isEmpty() {
    return next(0, sectors, true) == sectors;
  }

  /** True when the padding bits after the last sector are zero, as the spec requires. */
  public SectorBitmap copy() {
    return new SectorBitmap(bits.clone(), sectors);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SectorBitmap s && sectors == s.sectors && Arrays.equals(bits, s.bits);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bits);
  }
}
