package io.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class BitmapAndTableTest {
  @Test
  void bitmapIsMostSignificantBitFirst() {
    SectorBitmap b = SectorBitmap.empty(VhdLayout.DEFAULT_BLOCK_SIZE);
    b.set(0);
    b.set(9);
    ByteBuffer bytes = b.toBuffer();
    assertThat(bytes.get(0)).isEqualTo((byte) 0x80);
    assertThat(bytes.get(1)).isEqualTo((byte) 0x40);
    assertThat(b.sizeInBytes()).isEqualTo(512);
  }

  @Test
  void rangesAndSearches() {
    SectorBitmap b = SectorBitmap.empty(8192); // 16 sectors, one padded sector of bitmap
    b.setRange(3, 13);
    assertThat(b.next(0, 16, true)).isEqualTo(3);
    assertThat(b.next(3, 16, false)).isEqualTo(13);
    assertThat(b.isFull()).isFalse();
    b.setRange(0, 16);
    assertThat(b.isFull()).isTrue();
    assertThat(SectorBitmap.full(4096).isFull()).isTrue();
    assertThat(SectorBitmap.empty(4096).isEmpty()).isTrue();
  }

  @Test
  void batIsUnsignedAndPaddedWithOnes() {
    BlockAllocationTable t = BlockAllocationTable.empty(3);
    t.set(1, 0xFFFF_FFF0L);
    assertThat(t.sectorOf(1)).isEqualTo(0xFFFF_FFF0L);
    assertThat(t.sectorOf(0)).isEqualTo(-1);
    ByteBuffer b = ByteBuffer.allocate(512);
    t.writeTo(b);
    b.flip();
    assertThat(b.getInt(4)).isEqualTo(0xFFFF_FFF0);
    assertThat(b.getInt(508)).isEqualTo(-1);
    assertThat(BlockAllocationTable.parse(b, 3)).isEqualTo(t);
  }

  /** blktap: after all of block 0 is written, map byte 0x80 and checksum 0xffffff7f. */
  @Test
  void batmapChecksumVector() {
    BatmapHeader h = new BatmapHeader(2560, 1, BatmapHeader.VERSION_1_2, 0, 0, null);
    byte[] map = new byte[512];
    map[0] = (byte) 0x80;
    assertThat(h.checksumOf(map)).isEqualTo(0xffffff7f);
    ByteBuffer out = ByteBuffer.allocate(512);
    h.writeTo(out, map);
    out.flip();
    assertThat(out.getInt(24)).isEqualTo(0xffffff7f);
  }
}
