package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The block allocation table: one big-endian unsigned 32-bit sector number per block, pointing at
 * the block's sector bitmap, or {@link VhdLayout#BAT_UNUSED}. Mutable: the engine updates entries
 * as it allocates. Entries are unsigned; use {@link #sectorOf(int)} for arithmetic.
 */
public final class BlockAllocationTable {
  private final int[] entries;

  private BlockAllocationTable(int[] entries) {
    this.entries = entries;
  }

  public static BlockAllocationTable empty(int count) {
    int[] e = new int[count];
    Arrays.fill(e, VhdLayout.BAT_UNUSED);
    return new BlockAllocationTable(e);
  }

  /** Parses {@code count} entries at the buffer's position and advances past the padding too. */
  public static BlockAllocationTable parse(ByteBuffer src, int count) {
    ByteBuffer b = src.slice(src.position(), count * 4).order(ByteOrder.BIG_ENDIAN);
    int[] e = new int[count];
    b.asIntBuffer().get(e);
    src.position(src.position() + Math.min(src.remaining(), (int) VhdLayout.batBytes(count)));
    return new BlockAllocationTable(e);
  }

  /** Sets entries from {@code first} on from the big-endian entries in {@code src} (a piece). */
  public void load(int first, ByteBuffer src) {
    ByteBuffer b = src.slice().order(ByteOrder.BIG_ENDIAN);
    int n = Math.min(b.remaining() / 4, entries.length - first);
    b.asIntBuffer().get(entries, first, n);
  }

  /** Writes every entry and pads to a sector with 0xFF, as qemu and blktap do. */
  public void writeTo(ByteBuffer dst) {
    int bytes = (int) VhdLayout.batBytes(entries.length);
    ByteBuffer b = dst.slice(dst.position(), bytes).order(ByteOrder.BIG_ENDIAN);
    for (int i = 0; i < bytes / 4; i++) {
      b.putInt(i * 4, i < entries.length ? entries[i] : VhdLayout.BAT_UNUSED);
    }
    dst.position(dst.position() + bytes);
  }

  /** The 512-byte sector of the on-disk BAT that holds {@code index}, for a partial rewrite. */
  public ByteBuffer sectorContaining(int index) {
    int first = (index / 128) * 128;
    ByteBuffer b = ByteBuffer.allocate(VhdLayout.SECTOR).order(ByteOrder.BIG_ENDIAN);
    for (int i = 0; i < 128; i++) {
      int idx = first + i;
      b.putInt(idx < entries.length ? entries[idx] : VhdLayout.BAT_UNUSED);
    }
    return b.flip();
  }

  public int size() {
    return entries.length;
  }

  public int get(int index) {
    return entries[index];
  }

  public boolean isAllocated(int index) {
    return entries[index] != VhdLayout.BAT_UNUSED;
  }

  /** The bitmap's sector as an unsigned number, or -1 when unallocated. */
  public long sectorOf(int index) {
    int e = entries[index];
    return e == VhdLayout.BAT_UNUSED ? -1 : Integer.toUnsignedLong(e);
  }

  public void set(int index, long sector) {
    if (sector < 0 || sector >= 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("BAT sector out of 32-bit range: " + sector);
    }
    entries[index] = (int) sector;
  }

  public void clear(int index) {
    entries[index] = VhdLayout.BAT_UNUSED;
  }

  public int allocatedCount() {
    int n = 0;
    for (int e : entries) {
      if (e != VhdLayout.BAT_UNUSED) {
        n++;
      }
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlockAllocationTable b && Arrays.equals(entries, b.entries);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(entries);
  }
}
