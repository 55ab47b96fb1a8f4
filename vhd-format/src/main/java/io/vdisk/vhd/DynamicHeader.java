package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * The 1024-byte dynamic disk header (spec, "Dynamic Disk Header Format") of dynamic and
 * differencing disks, at the footer's data offset. The parent name (UTF-16BE) is kept as its 512
 * raw bytes so that names with odd code units round-trip; {@link #parentName()} decodes it.
 */
public record DynamicHeader(
    long dataOffset,
    long tableOffset,
    int headerVersion,
    int maxTableEntries,
    int blockSize,
    int storedChecksum,
    UUID parentUuid,
    int parentTimestamp,
    int reserved1,
    byte[] parentUnicodeName,
    List<ParentLocator> locators,
    byte[] reserved2) {

  public static final int SIZE = 1024;
  public static final byte[] COOKIE = "cxsparse".getBytes(StandardCharsets.US_ASCII);
  public static final int HEADER_VERSION = 0x0001_0000;
  public static final int PARENT_NAME_BYTES = 512;

  private static final int OFF_COOKIE = 0;
  private static final int OFF_DATA_OFFSET = 8;
  private static final int OFF_TABLE_OFFSET = 16;
  private static final int OFF_HEADER_VERSION = 24;
  private static final int OFF_MAX_TABLE_ENTRIES = 28;
  private static final int OFF_BLOCK_SIZE = 32;
  private static final int OFF_CHECKSUM = 36;
  private static final int OFF_PARENT_UUID = 40;
  private static final int OFF_PARENT_TIMESTAMP = 56;
  private static final int OFF_RESERVED1 = 60;
  private static final int OFF_PARENT_NAME = 64;
  private static final int OFF_LOCATORS = 576;
  private static final int OFF_RESERVED2 = 768;
  private static final int RESERVED2_SIZE = 256;

  public DynamicHeader {
    Objects.requireNonNull(parentUuid, "parentUuid");
    parentUnicodeName =
        parentUnicodeName == null ? new byte[PARENT_NAME_BYTES] : parentUnicodeName.clone();
    reserved2 = reserved2 == null ? new byte[RESERVED2_SIZE] : reserved2.clone();
    List<ParentLocator> l = new ArrayList<>(locators == null ? List.of() : locators);
    while (l.size() < ParentLocator.COUNT) {
      l.add(ParentLocator.EMPTY);
    }
    if (l.size() != ParentLocator.COUNT
        || parentUnicodeName.length != PARENT_NAME_BYTES
        || reserved2.length != RESERVED2_SIZE) {
      throw new IllegalArgumentException("malformed dynamic header arrays");
    }
    locators = List.copyOf(l);
  }

  /** A header for a new dynamic disk, no parent. */
  public static DynamicHeader create(long tableOffset, int entries, int blockSize) {
    return new DynamicHeader(
        -1L, tableOffset, HEADER_VERSION, entries, blockSize, 0, Uuids.NIL, 0, 0, null, null, null);
  }

  public static boolean hasCookie(ByteBuffer buf) {
    for (int i = 0; i < COOKIE.length; i++) {
      if (buf.get(buf.position() + i) != COOKIE[i]) {
        return false;
      }
    }
    return true;
  }

  /** Parses 1024 bytes at the buffer's position and advances it; rejects a missing cookie. */
  public static DynamicHeader parse(ByteBuffer src) throws CorruptImageException {
    if (src.remaining() < SIZE) {
      throw new CorruptImageException(
          "dynamic header: expected " + SIZE + " bytes, found " + src.remaining());
    }
    ByteBuffer b = src.slice(src.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    if (!hasCookie(b)) {
      throw new CorruptImageException(
          "dynamic header: cookie expected 'cxsparse', found "
              + Footer.printable(b, OFF_COOKIE, 8));
    }
    byte[] name = new byte[PARENT_NAME_BYTES];
    b.get(OFF_PARENT_NAME, name);
    byte[] r2 = new byte[RESERVED2_SIZE];
    b.get(OFF_RESERVED2, r2);
    List<ParentLocator> locs = new ArrayList<>(ParentLocator.COUNT);
    ByteBuffer lb = b.slice(OFF_LOCATORS, ParentLocator.SIZE * ParentLocator.COUNT);
    for (int i = 0; i < ParentLocator.COUNT; i++) {
      locs.add(ParentLocator.parse(lb));
    }
    DynamicHeader h =
        new DynamicHeader(
            b.getLong(OFF_DATA_OFFSET),
            b.getLong(OFF_TABLE_OFFSET),
            b.getInt(OFF_HEADER_VERSION),
            b.getInt(OFF_MAX_TABLE_ENTRIES),
            b.getInt(OFF_BLOCK_SIZE),
            b.getInt(OFF_CHECKSUM),
            Uuids.read(b, OFF_PARENT_UUID),
            b.getInt(OFF_PARENT_TIMESTAMP),
            b.getInt(OFF_RESERVED1),
            name,
            locs,
            r2);
    src.position(src.position() + SIZE);
    return h;
  }

  public void writeTo(ByteBuffer dst) {
    ByteBuffer b = dst.slice(dst.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    b.put(OFF_COOKIE, COOKIE);
    b.putLong(OFF_DATA_OFFSET, dataOffset);
    b.putLong(OFF_TABLE_OFFSET, tableOffset);
    b.putInt(OFF_HEADER_VERSION, headerVersion);
    b.putInt(OFF_MAX_TABLE_ENTRIES, maxTableEntries);
    b.putInt(OFF_BLOCK_SIZE, blockSize);
    b.putInt(OFF_CHECKSUM, 0);
    Uuids.write(b, OFF_PARENT_UUID, parentUuid);
    b.putInt(OFF_PARENT_TIMESTAMP, parentTimestamp);
    b.putInt(OFF_RESERVED1, reserved1);
    b.put(OFF_PARENT_NAME, parentUnicodeName);
    ByteBuffer lb = b.slice(OFF_LOCATORS, ParentLocator.SIZE * ParentLocator.COUNT);
    for (ParentLocator l : locators) {
      l.writeTo(lb);
    }
    b.put(OFF_RESERVED2, reserved2);
    b.putInt(OFF_CHECKSUM, Checksum.of(b, 0, SIZE, OFF_CHECKSUM));
    dst.position(dst.position() + SIZE);
  }

  public ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    writeTo(b);
    return b.flip();
  }

  public int computedChecksum() {
    return toBuffer().getInt(OFF_CHECKSUM);
  }

  public boolean checksumValid() {
    return computedChecksum() == storedChecksum;
  }

  /** Block size as an unsigned value. */
  public long blockSizeUnsigned() {
    return Integer.toUnsignedLong(blockSize);
  }

  public long entries() {
    return Integer.toUnsignedLong(maxTableEntries);
  }

  /** The parent's name, decoded from UTF-16BE up to the first NUL code unit. */
  public String parentName() {
    int end = 0;
    while (end + 1 < PARENT_NAME_BYTES
        && (parentUnicodeName[end] != 0 || parentUnicodeName[end + 1] != 0)) {
      end += 2;
    }
    return new String(parentUnicodeName, 0, end, StandardCharsets.UTF_16BE);
  }

  /** The UTF-16BE bytes of a name, padded to 512; refuses names that do not fit. */
  public static byte[] encodeParentName(String name) {
    byte[] enc = name.getBytes(StandardCharsets.UTF_16BE);
    if (enc.length > PARENT_NAME_BYTES) {
      throw new IllegalArgumentException(
          "parent name longer than 256 UTF-16 units: " + name.length() + " chars");
    }
    return Arrays.copyOf(enc, PARENT_NAME_BYTES);
  }

  public boolean reservedZero() {
    if (reserved1 != 0) {
      return false;
    }
    for (byte v : reserved2) {
      if (v != 0) {
        return false;
      }
    }
    return true;
  }

  public DynamicHeader withParent(
      UUID uuid, int timestamp, String name, List<ParentLocator> newLocators) {
    return new DynamicHeader(
        dataOffset,
        tableOffset,
        headerVersion,
        maxTableEntries,
        blockSize,
        storedChecksum,
        uuid,
        timestamp,
        reserved1,
        encodeParentName(name),
        newLocators,
        reserved2);
  }

  @Override
  public byte[] parentUnicodeName() {
    return parentUnicodeName.clone();
  }

  @Override
  public byte[] reserved2() {
    return reserved2.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DynamicHeader h
        && toBuffer().equals(h.toBuffer())
        && storedChecksum == h.storedChecksum;
  }

  @Override
  public int hashCode() {
    return toBuffer().hashCode();
  }

  @Override
  public String toString() {
    return "DynamicHeader[table="
        + tableOffset
        + ", entries="
        + entries()
        + ", blockSize="
        + blockSizeUnsigned()
        + ", parent="
        + parentUuid
        + "]";
  }
}
