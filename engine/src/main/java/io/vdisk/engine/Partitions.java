package io.vdisk.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The partition table at the start of a disk, MBR or GPT, read from its first bytes, so that {@code
 * vdisk mount} can say what is inside an image and how to reach each partition read-only. Hostile
 * input: every offset and count is checked against the bytes given and the disk's size; a table
 * that does not add up is reported as none.
 */
public final class Partitions {
  private Partitions() {}

  /** One partition: its number (1-based, as the kernel numbers them), byte range and kind. */
  public record Partition(int number, long offset, long length, String type, String name) {}

  /** The table's scheme ({@code mbr}, {@code gpt}) and partitions; scheme null when none. */
  public record Table(String scheme, List<Partition> partitions) {}

  private static final int SECTOR = 512;
  private static final int MAX_GPT_ENTRIES = 1024;

  private static final Map<String, String> GPT_TYPES =
      Map.of(
          "0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem",
          "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI System",
          "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap",
          "e6d6d379-f507-44c2-a23c-238f2a3df928", "Linux LVM",
          "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "Microsoft basic data",
          "21686148-6449-6e6f-744e-656564454649", "BIOS boot",
          "a19d880f-05fc-4d3b-a006-743f0f84911e", "Linux RAID",
          "e3c9e316-0b5c-4db8-817d-f92df00215ae", "Microsoft reserved");

  private static final Map<Integer, String> MBR_TYPES =
      Map.of(
          0x83, "Linux",
          0x82, "Linux swap",
          0x8e, "Linux LVM",
          0x07, "HPFS/NTFS/exFAT",
          0x0b, "W95 FAT32",
          0x0c, "W95 FAT32 (LBA)",
          0x05, "Extended",
          0x0f, "W95 Extended (LBA)",
          0xef, "EFI (FAT)",
          0xfd, "Linux raid autodetect");

  /**
   * Reads the table from {@code head}, the disk's first bytes (64 KiB covers the usual GPT with its
   * 128 entries at LBA 2), of a disk of {@code diskSize} bytes.
   */
  public static Table read(byte[] head, long diskSize) {
    ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
    if (head.length < SECTOR || (b.getShort(510) & 0xFFFF) != 0xAA55) {
      return new Table(null, List.of());
    }
    List<Partition> mbr = new ArrayList<>();
    boolean protective = false;
    for (int i = 0; i < 4; i++) {
      int e = 446 + i * 16;
      int type = b.get(e + 4) & 0xFF;
      long start = Integer.toUnsignedLong(b.getInt(e + 8)) * SECTOR;
      long length = Integer.toUnsignedLong(b.getInt(e + 12)) * SECTOR;
      if (type == 0 || length == 0) {
        continue;
      }
      if (type == 0xEE) {
        protective = true;
        continue;
      }
      if (start >= diskSize || length > diskSize - start) {
        return new Table(null, List.of()); // not a table that fits this disk
      }
      mbr.add(
          new Partition(
              i + 1,
              start,
              length,
              MBR_TYPES.getOrDefault(type, String.format(Locale.ROOT, "type 0x%02x", type)),
              ""));
    }
    if (protective) {
      Table gpt = gpt(b, head.length, diskSize);
      if (gpt != null) {
        return gpt;
      }
    }
    return mbr.isEmpty() ? new Table(null, List.of()) : new Table("mbr", mbr);
  }

  private static Table gpt(ByteBuffer b, int have, long diskSize) {
    if (have < 2 * SECTOR
        || !new String(head(b, SECTOR, 8), StandardCharsets.US_ASCII).equals("EFI PART")) {
      return null;
    }
    long entriesLba = b.getLong(SECTOR + 72);
    long count = Integer.toUnsignedLong(b.getInt(SECTOR + 80));
    long entrySize = Integer.toUnsignedLong(b.getInt(SECTOR + 84));
    if (entrySize < 128 || entrySize > 4096 || count > MAX_GPT_ENTRIES || entriesLba < 2) {
      return null;
    }
    List<Partition> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long at = entriesLba * SECTOR + i * entrySize;
      if (at + 128 > have) {
        break; // entries past the bytes read: list what was there
      }
      int e = (int) at;
      UUID type = guid(b, e);
      if (type.getMostSignificantBits() == 0 && type.getLeastSignificantBits() == 0) {
        continue;
      }
      long first = b.getLong(e + 32);
      long last = b.getLong(e + 40);
      if (first < 0 || last < first || last >= diskSize / SECTOR) {
        continue;
      }
      String name =
          new String(head(b, e + 56, 72), StandardCharsets.UTF_16LE).replace("\0", "").strip();
      out.add(
          new Partition(
              i + 1,
              first * SECTOR,
              (last - first + 1) * SECTOR,
              GPT_TYPES.getOrDefault(type.toString(), type.toString()),
              io.vdisk.engine.io.Printable.of(name)));
    }
    return new Table("gpt", out);
  }

  private static byte[] head(ByteBuffer b, int at, int n) {
    byte[] out = new byte[n];
    b.get(at, out);
    return out;
  }

  /** A GUID as GPT stores it: the first three fields little-endian ({@code b} reads them so). */
  private static UUID guid(ByteBuffer b, int at) {
    ByteBuffer be = ByteBuffer.allocate(16);
    be.putInt(b.getInt(at));
    be.putShort(b.getShort(at + 4));
    be.putShort(b.getShort(at + 6));
    for (int k = 8; k < 16; k++) {
      be.put(b.get(at + k));
    }
    be.flip();
    return new UUID(be.getLong(), be.getLong());
  }
}
