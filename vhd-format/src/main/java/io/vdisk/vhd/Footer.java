package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.UUID;

/**
 * The 512-byte hard disk footer (spec, "Hard Disk Footer Format"). A fixed disk has it at the end
 * only; dynamic and differencing disks also keep a copy at offset 0. Byte 85 is blktap's {@code
 * hidden} flag; bytes 86..511 are kept as read so that writing back what was parsed gives the same
 * bytes. The checksum is computed on write; {@link #storedChecksum} is what was read.
 */
public record Footer(
    int features,
    int formatVersion,
    long dataOffset,
    int timestamp,
    int creatorApplication,
    int creatorVersion,
    int creatorHostOs,
    long originalSize,
    long currentSize,
    Geometry geometry,
    int diskType,
    int storedChecksum,
    UUID uniqueId,
    int savedState,
    int hidden,
    byte[] reserved) {

  public static final int SIZE = 512;
  public static final byte[] COOKIE = "conectix".getBytes(StandardCharsets.US_ASCII);

  // Field offsets (spec, "Hard Disk Footer Format").
  private static final int OFF_COOKIE = 0;
  private static final int OFF_FEATURES = 8;
  private static final int OFF_FORMAT_VERSION = 12;
  private static final int OFF_DATA_OFFSET = 16;
  private static final int OFF_TIMESTAMP = 24;
  private static final int OFF_CREATOR_APP = 28;
  private static final int OFF_CREATOR_VERSION = 32;
  private static final int OFF_CREATOR_HOST = 36;
  private static final int OFF_ORIGINAL_SIZE = 40;
  private static final int OFF_CURRENT_SIZE = 48;
  private static final int OFF_GEOMETRY = 56;
  private static final int OFF_DISK_TYPE = 60;
  private static final int OFF_CHECKSUM = 64;
  private static final int OFF_UNIQUE_ID = 68;
  private static final int OFF_SAVED_STATE = 84;
  private static final int OFF_HIDDEN = 85; // blktap: include/vhd.h struct hd_ftr
  private static final int OFF_RESERVED = 86;
  private static final int RESERVED_SIZE = SIZE - OFF_RESERVED;

  /** Features bit 0x2, "Reserved: must always be set" ({@code vhd-util check} rejects without). */
  public static final int FEATURES_RESERVED = 0x2;

  public static final int FORMAT_VERSION = 0x0001_0000;

  /** Data offset of a fixed disk: all 64 bits set (the spec text says 32). */
  public static final long NO_DATA_OFFSET = -1L;

  public Footer {
    Objects.requireNonNull(geometry, "geometry");
    Objects.requireNonNull(uniqueId, "uniqueId");
    reserved = reserved == null ? new byte[RESERVED_SIZE] : reserved.clone();
    if (reserved.length != RESERVED_SIZE) {
      throw new IllegalArgumentException("footer reserved area must be " + RESERVED_SIZE);
    }
  }

  /** A new footer with vdisk's choices: creator {@code tap\0} 1.3 (see docs/formats.md). */
  public static Footer create(DiskType type, long size, UUID uuid, int timestamp, long dataOffset) {
    return new Footer(
        FEATURES_RESERVED,
        FORMAT_VERSION,
        dataOffset,
        timestamp,
        VhdLayout.CREATOR_TAP,
        VhdLayout.CREATOR_VERSION_TAP_1_3,
        0,
        size,
        size,
        Geometry.forSize(size),
        type.code(),
        0,
        uuid,
        0,
        0,
        null);
  }

  /** True when the buffer at its position starts with {@code conectix}. */
  public static boolean hasCookie(ByteBuffer buf) {
    if (buf.remaining() < COOKIE.length) {
      return false;
    }
    for (int i = 0; i < COOKIE.length; i++) {
      if (buf.get(buf.position() + i) != COOKIE[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Parses 512 bytes at the buffer's position and advances it. Rejects only a missing cookie;
   * checksums and values are judged by {@link #checksumValid()} and the checker.
   */
  public static Footer parse(ByteBuffer src) throws CorruptImageException {
    if (src.remaining() < SIZE) {
      throw new CorruptImageException(
          "footer: expected " + SIZE + " bytes, found " + src.remaining());
    }
    ByteBuffer b = src.slice(src.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    if (!hasCookie(b)) {
      throw new CorruptImageException(
          "footer: cookie expected 'conectix', found " + printable(b, OFF_COOKIE, 8));
    }
    byte[] reserved = new byte[RESERVED_SIZE];
    b.get(OFF_RESERVED, reserved);
    Footer f =
        new Footer(
            b.getInt(OFF_FEATURES),
            b.getInt(OFF_FORMAT_VERSION),
            b.getLong(OFF_DATA_OFFSET),
            b.getInt(OFF_TIMESTAMP),
            b.getInt(OFF_CREATOR_APP),
            b.getInt(OFF_CREATOR_VERSION),
            b.getInt(OFF_CREATOR_HOST),
            b.getLong(OFF_ORIGINAL_SIZE),
            b.getLong(OFF_CURRENT_SIZE),
            Geometry.unpack(b.getInt(OFF_GEOMETRY)),
            b.getInt(OFF_DISK_TYPE),
            b.getInt(OFF_CHECKSUM),
            Uuids.read(b, OFF_UNIQUE_ID),
            b.get(OFF_SAVED_STATE) & 0xFF,
            b.get(OFF_HIDDEN) & 0xFF,
            reserved);
    src.position(src.position() + SIZE);
    return f;
  }

  /** Writes 512 bytes at the buffer's position with a freshly computed checksum. */
  public void writeTo(ByteBuffer dst) {
    ByteBuffer b = dst.slice(dst.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    b.put(OFF_COOKIE, COOKIE);
    b.putInt(OFF_FEATURES, features);
    b.putInt(OFF_FORMAT_VERSION, formatVersion);
    b.putLong(OFF_DATA_OFFSET, dataOffset);
    b.putInt(OFF_TIMESTAMP, timestamp);
    b.putInt(OFF_CREATOR_APP, creatorApplication);
    b.putInt(OFF_CREATOR_VERSION, creatorVersion);
    b.putInt(OFF_CREATOR_HOST, creatorHostOs);
    b.putLong(OFF_ORIGINAL_SIZE, originalSize);
    b.putLong(OFF_CURRENT_SIZE, currentSize);
    b.putInt(OFF_GEOMETRY, geometry.pack());
    b.putInt(OFF_DISK_TYPE, diskType);
    b.putInt(OFF_CHECKSUM, 0);
    Uuids.write(b, OFF_UNIQUE_ID, uniqueId);
    b.put(OFF_SAVED_STATE, (byte) savedState);
    b.put(OFF_HIDDEN, (byte) hidden);
    b.put(OFF_RESERVED, reserved);
    b.putInt(OFF_CHECKSUM, Checksum.of(b, 0, SIZE, OFF_CHECKSUM));
    dst.position(dst.position() + SIZE);
  }

  public ByteBuffer toBuffer() {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    writeTo(b);
    return b.flip();
  }

  /** The checksum this footer's fields should carry. */
  public int computedChecksum() {
    return toBuffer().getInt(OFF_CHECKSUM);
  }

  public boolean checksumValid() {
    return computedChecksum() == storedChecksum || legacyHidden();
  }

  /**
   * True for the footer of an early tapdisk image (creator {@code tap}, version 0.1 or 1.1) whose
   * hidden flag was set without recomputing the checksum: the stored checksum is the one of the
   * same footer with hidden 0. libvhd and {@code vhd-util check} accept it ({@code
   * vhd_validate_footer}); such an image keeps its hidden flag in the copy at offset 0.
   */
  public boolean legacyHidden() {
    return hidden != 0 && isEarlyTap() && withHidden(false).computedChecksum() == storedChecksum;
  }

  /** Creator {@code tap} at version 0.1 or 1.1 (blktap's {@code VHD_VERSION(0,1)}, (1,1)). */
  public boolean isEarlyTap() {
    return (creatorApplication & 0xFFFFFF00) == (VhdLayout.CREATOR_TAP & 0xFFFFFF00)
        && (creatorVersion == 0x0000_0001 || creatorVersion == 0x0001_0001);
  }

  /** Equal but for the hidden flag and, in the legacy case, the checksum it did not change. */
  public boolean sameButHidden(Footer o) {
    return withHidden(false)
        .withStoredChecksum(0)
        .equals(o.withHidden(false).withStoredChecksum(0));
  }

  public DiskType type() {
    return DiskType.ofCode(diskType);
  }

  public boolean isHidden() {
    return hidden != 0;
  }

  public Footer withHidden(boolean value) {
    return new Footer(
        features,
        formatVersion,
        dataOffset,
        timestamp,
        creatorApplication,
        creatorVersion,
        creatorHostOs,
        originalSize,
        currentSize,
        geometry,
        diskType,
        storedChecksum,
        uniqueId,
        savedState,
        value ? 1 : 0,
        reserved);
  }

  public Footer withUniqueId(java.util.UUID id) {
    return new Footer(
        features,
        formatVersion,
        dataOffset,
        timestamp,
        creatorApplication,
        creatorVersion,
        creatorHostOs,
        originalSize,
        currentSize,
        geometry,
        diskType,
        storedChecksum,
        id,
        savedState,
        hidden,
        reserved);
  }

  public Footer withCurrentSize(long size) {
    return new Footer(
        features,
        formatVersion,
        dataOffset,
        timestamp,
        creatorApplication,
        creatorVersion,
        creatorHostOs,
        originalSize,
        size,
        Geometry.forSize(size),
        diskType,
        storedChecksum,
        uniqueId,
        savedState,
        hidden,
        reserved);
  }

  public Footer withStoredChecksum(int checksum) {
    return new Footer(
        features,
        formatVersion,
        dataOffset,
        timestamp,
        creatorApplication,
        creatorVersion,
        creatorHostOs,
        originalSize,
        currentSize,
        geometry,
        diskType,
        checksum,
        uniqueId,
        savedState,
        hidden,
        reserved);
  }

  /** True when the reserved bytes 86..511 are all zero, as the spec and vhd-util require. */
  public boolean reservedZero() {
    for (byte v : reserved) {
      if (v != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public byte[] reserved() {
    return reserved.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Footer f
        && toBuffer().equals(f.toBuffer())
        && storedChecksum == f.storedChecksum;
  }

  @Override
  public int hashCode() {
    return toBuffer().hashCode();
  }

  @Override
  public String toString() {
    return "Footer[type="
        + diskType
        + ", size="
        + currentSize
        + ", creator="
        + VhdLayout.fourCc(creatorApplication)
        + ", uuid="
        + uniqueId
        + "]";
  }

  static String printable(ByteBuffer b, int at, int len) {
    StringBuilder sb = new StringBuilder("'");
    for (int i = 0; i < len; i++) {
      int c = b.get(at + i) & 0xFF;
      sb.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\x%02x", c));
    }
    return sb.append('\'').toString();
  }
}
