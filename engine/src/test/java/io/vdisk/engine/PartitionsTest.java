package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Partition tables read as hostile input: what does not add up is no table, never an error. */
class PartitionsTest {
  private static byte[] mbr(int type, long startSector, long sectors) {
    ByteBuffer b = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    b.put(446 + 4, (byte) type);
    b.putInt(446 + 8, (int) startSector);
    b.putInt(446 + 12, (int) sectors);
    b.putShort(510, (short) 0xAA55);
    return b.array();
  }

  @Test
  void anMbrPartitionIsReadAndOneOutsideTheDiskIsNot() {
    Partitions.Table t = Partitions.read(mbr(0x83, 2048, 4096), 64L << 20);
    assertThat(t.scheme()).isEqualTo("mbr");
    assertThat(t.partitions())
        .containsExactly(new Partitions.Partition(1, 1 << 20, 2 << 20, "Linux", ""));
    assertThat(Partitions.read(mbr(0x83, 2048, 1 << 30), 64L << 20).scheme()).isNull();
    assertThat(Partitions.read(new byte[100], 1 << 20).scheme()).isNull();
  }

  @Test
  void aGptWithHostileCountsOrEntriesIsNoTableOrSkipsThem() {
    byte[] head = mbr(0xEE, 1, 130000);
    ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
    b.put(512, "EFI PART".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    b.putLong(512 + 72, 2).putInt(512 + 80, 128).putInt(512 + 84, 128);
    // entry 1: Linux filesystem, sectors 2048..4095; entry 2: past the disk's end
    int e = 1024;
    b.putInt(e, 0x0FC63DAF).putShort(e + 4, (short) 0x8483).putShort(e + 6, (short) 0x4772);
    b.put(e + 8, new byte[] {(byte) 0x8E, 0x79, 0x3D, 0x69, (byte) 0xD8, 0x47, 0x7D, (byte) 0xE4});
    b.putLong(e + 32, 2048).putLong(e + 40, 4095);
    b.putLong(e + 128, 1).putLong(e + 128 + 32, 2048).putLong(e + 128 + 40, 1L << 40);
    Partitions.Table t = Partitions.read(head, 64L << 20);
    assertThat(t.scheme()).isEqualTo("gpt");
    assertThat(t.partitions())
        .containsExactly(new Partitions.Partition(1, 1 << 20, 1 << 20, "Linux filesystem", ""));
    b.putInt(512 + 80, Integer.MAX_VALUE); // a count no disk has
    assertThat(Partitions.read(head, 64L << 20).scheme()).isNull();
    Random r = new Random(7);
    for (int i = 0; i < 2000; i++) {
      byte[] junk = new byte[1 + r.nextInt(70000)];
      r.nextBytes(junk);
      if (junk.length > 511) {
        junk[510] = 0x55;
        junk[511] = (byte) 0xAA;
      }
      Partitions.read(junk, r.nextInt(1 << 30)); // never throws
    }
  }
}
