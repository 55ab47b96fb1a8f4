package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * blktap's batmap header ({@code struct dd_batmap_hdr}, one sector right after the BAT): where the
 * bit array of fully-populated blocks lives, its size in sectors, version, checksum ({@code ~Σ} of
 * the map bytes, unsigned for version 1.2), marker and keyhash. docs/reference/vhd-format-notes.md
 * §1.16.
 */
public record BatmapHeader(
    long batmapOffset, int batmapSize, int version, int storedChecksum, int marker, byte[] rest) {
  public static final int SIZE = 512;
  public static final byte[] COOKIE = "tdbatmap".getBytes(StandardCharsets.US_ASCII);
  public static final int VERSION_1_2 = 0x0001_0002;
  public static final int VERSION_1_1 = 0x0001_0001;

  private static final int OFF_COOKIE = 0;
  private static final int OFF_OFFSET = 8;
  private static final int OFF_SIZE = 16;
  private static final int OFF_VERSION = 20;
  private static final int OFF_CHECKSUM = 24;
  private static final int OFF_MARKER = 28;
  private static final int OFF_REST = 29; // keyhash (65) and reserved (418), kept as read
  private static final int REST_SIZE = SIZE - OFF_REST;

  public BatmapHeader {
    rest = rest == null ? new byte[REST_SIZE] : rest.clone();
    if (rest.length != REST_SIZE) {
      throw new IllegalArgumentException("batmap header rest must be " + REST_SIZE);
    }
  }

  public static boolean hasCookie(ByteBuffer buf) {
    for (int i = 0; i < COOKIE.length; i++) {
      if (buf.get(buf.position() + i) != COOKIE[i]) {
        return false;
      }
    }
    return true;
  }

  public static BatmapHeader parse(ByteBuffer src) throws CorruptImageException {
    ByteBuffer b = src.slice(src.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    if (!hasCookie(b)) {
      throw new CorruptImageException(
          "batmap header: cookie expected 'tdbatmap', found " + Footer.printable(b, OFF_COOKIE, 8));
    }
    byte[] rest = new byte[REST_SIZE];
    b.get(OFF_REST, rest);
    src.position(src.position() + SIZE);
    return new BatmapHeader(
        b.getLong(OFF_OFFSET),
        b.getInt(OFF_SIZE),
        b.getInt(OFF_VERSION),
        b.getInt(OFF_CHECKSUM),
        b.get(OFF_MARKER) & 0xFF,
        rest);
  }

  /** Writes the header with the given map's checksum. */
  public void writeTo(ByteBuffer dst, byte[] map) {
    ByteBuffer b = dst.slice(dst.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    b.put(OFF_COOKIE, COOKIE);
    b.putLong(OFF_OFFSET, batmapOffset);
    b.putInt(OFF_SIZE, batmapSize);
    b.putInt(OFF_VERSION, version);
    b.putInt(OFF_CHECKSUM, checksumOf(map));
    b.put(OFF_MARKER, (byte) marker);
    b.put(OFF_REST, rest);
    dst.position(dst.position() + SIZE);
  }

  /** Bytes of the map this header describes. */
  public long mapBytes() {
    return Integer.toUnsignedLong(batmapSize) * VhdLayout.SECTOR;
  }

  /** libvhd {@code vhd_checksum_batmap}: signed bytes for version 1.1, unsigned after. */
  public int checksumOf(byte[] map) {
    int sum = 0;
    int n = (int) Math.min(map.length, mapBytes());
    for (int i = 0; i < n; i++) {
      sum += version == VERSION_1_1 ? map[i] : map[i] & 0xFF;
    }
    return ~sum;
  }

  @Override
  public byte[] rest() {
    return rest.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BatmapHeader h
        && batmapOffset == h.batmapOffset
        && batmapSize == h.batmapSize
        && version == h.version
        && storedChecksum == h.storedChecksum
        && marker == h.marker
        && java.util.Arrays.equals(rest, h.rest);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(batmapOffset, batmapSize, version, storedChecksum, marker);
  }
}
