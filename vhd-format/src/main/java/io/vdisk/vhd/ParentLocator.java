package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One 24-byte parent locator entry of the dynamic header (spec, "Parent Locator Entries"), and the
 * encodings of the paths they point at. vdisk writes what blktap writes: MacX {@code
 * file://./base.vhd} (UTF-8), and W2ku and W2ru {@code .\base.vhd} (UTF-16LE), all relative to the
 * child's directory, in slots 0, 1, 2 (docs/reference/vhd-format-notes.md §1.8).
 */
public record ParentLocator(
    int platformCode, int dataSpace, int dataLength, int reserved, long dataOffset) {
  public static final int SIZE = 24;
  public static final int COUNT = 8;

  public static final int NONE = 0;
  public static final int WI2R = 0x57693272;
  public static final int WI2K = 0x5769326B;
  public static final int W2RU = 0x57327275;
  public static final int W2KU = 0x57326B75;
  public static final int MAC = 0x4D616320;
  public static final int MACX = 0x4D616358;

  public static final ParentLocator EMPTY = new ParentLocator(NONE, 0, 0, 0, 0);

  private static final int OFF_CODE = 0;
  private static final int OFF_SPACE = 4;
  private static final int OFF_LENGTH = 8;
  private static final int OFF_RESERVED = 12;
  private static final int OFF_DATA_OFFSET = 16;

  public static ParentLocator parse(ByteBuffer src) {
    ByteBuffer b = src.slice(src.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    src.position(src.position() + SIZE);
    return new ParentLocator(
        b.getInt(OFF_CODE),
        b.getInt(OFF_SPACE),
        b.getInt(OFF_LENGTH),
        b.getInt(OFF_RESERVED),
        b.getLong(OFF_DATA_OFFSET));
  }

  public void writeTo(ByteBuffer dst) {
    ByteBuffer b = dst.slice(dst.position(), SIZE).order(ByteOrder.BIG_ENDIAN);
    b.putInt(OFF_CODE, platformCode);
    b.putInt(OFF_SPACE, dataSpace);
    b.putInt(OFF_LENGTH, dataLength);
    b.putInt(OFF_RESERVED, reserved);
    b.putLong(OFF_DATA_OFFSET, dataOffset);
    dst.position(dst.position() + SIZE);
  }

  public boolean isUsed() {
    return platformCode != NONE;
  }

  /**
   * Bytes reserved for the path. The spec counts sectors, Virtual PC and Hyper-V write bytes; like
   * libvhd, a value below 512 is sectors, a multiple of 512 is bytes, anything else -1.
   */
  public long dataSpaceBytes() {
    long space = Integer.toUnsignedLong(dataSpace);
    if (space < 512) {
      return space * 512;
    }
    return space % 512 == 0 ? space : -1;
  }

  /** True for the codes whose paths vdisk can decode (MacX, W2ku, W2ru). */
  public boolean isDecodable() {
    return platformCode == MACX || platformCode == W2KU || platformCode == W2RU;
  }

  public static String codeName(int code) {
    return switch (code) {
      case NONE -> "None";
      case MACX -> "MacX";
      case W2KU -> "W2ku";
      case W2RU -> "W2ru";
      case WI2K -> "Wi2k";
      case WI2R -> "Wi2r";
      case MAC -> "Mac";
      default -> String.format("0x%08x", code);
    };
  }

  /** The bytes of a relative path for this platform code (slash-separated input). */
  public static byte[] encodePath(int code, String relativePath) {
    return switch (code) {
      case MACX -> ("file://./" + relativePath).getBytes(StandardCharsets.UTF_8);
      case W2KU, W2RU ->
          (".\\" + relativePath.replace('/', '\\')).getBytes(StandardCharsets.UTF_16LE);
      default -> throw new IllegalArgumentException("cannot encode " + codeName(code));
    };
  }

  /**
   * Decodes a locator's path as libvhd does: MacX drops {@code file://} (and a {@code localhost}
   * host); W2ku/W2ru are UTF-16LE, backslashes become slashes and a drive letter is dropped.
   * Returns a slash-separated path, relative or absolute.
   */
  public static String decodePath(int code, byte[] data) {
    String s;
    if (code == MACX) {
      s = new String(data, StandardCharsets.UTF_8);
      if (s.startsWith("file://localhost/")) {
        s = s.substring("file://localhost".length());
      } else if (s.startsWith("file://")) {
        s = s.substring("file://".length());
      }
    } else if (code == W2KU || code == W2RU) {
      s = new String(data, StandardCharsets.UTF_16LE).replace('\\', '/');
      if (s.length() >= 2 && s.charAt(1) == ':') {
        s = s.substring(2);
      }
    } else {
      throw new IllegalArgumentException("cannot decode " + codeName(code));
    }
    int nul = s.indexOf('\0');
    return nul >= 0 ? s.substring(0, nul) : s;
  }
}
