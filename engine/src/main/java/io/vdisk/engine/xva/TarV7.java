package io.vdisk.engine.xva;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes tar entries exactly as xapi does through ocaml-tar's default V7 level: no magic, mode
 * 0400, uid and gid 0, zero-padded octal fields each ended by one NUL, typeflag NUL, and the header
 * checksum as 7 octal digits and a NUL (docs/reference/xva-format-notes.md §2.2). The archive ends
 * with two zero blocks and no record padding. Hand-written because no library writes this dialect;
 * reading uses commons-compress, which reads every dialect.
 */
final class TarV7 {
  static final int BLOCK = 512;
  private static final byte[] ZEROS = new byte[BLOCK];

  // The V7 header's fields: offset and width in bytes (POSIX's ustar adds magic at 257).
  private static final int NAME = 0;
  private static final int NAME_LEN = 100;
  private static final int MODE = 100;
  private static final int UID = 108;
  private static final int GID = 116;
  private static final int ID_LEN = 8;
  private static final int SIZE = 124;
  private static final int MTIME = 136;
  private static final int NUMBER_LEN = 12;
  private static final int CHECKSUM = 148;
  private static final int CHECKSUM_LEN = 8;
  private static final int TYPEFLAG = 156;

  private final OutputStream out;

  TarV7(OutputStream out) {
    this.out = out;
  }

  /** Writes a header for a file of {@code size} bytes; the caller then writes the data. */
  void header(String name, long size, long mtimeSeconds) throws IOException {
    byte[] h = new byte[BLOCK];
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    if (n.length > NAME_LEN) {
      throw new IllegalArgumentException("tar name longer than 100 bytes: " + name);
    }
    System.arraycopy(n, 0, h, NAME, n.length);
    octal(h, MODE, ID_LEN, 0400);
    octal(h, UID, ID_LEN, 0);
    octal(h, GID, ID_LEN, 0);
    octal(h, SIZE, NUMBER_LEN, size);
    octal(h, MTIME, NUMBER_LEN, mtimeSeconds);
    // The checksum is summed with its own field as spaces.
    java.util.Arrays.fill(h, CHECKSUM, CHECKSUM + CHECKSUM_LEN, (byte) ' ');
    h[TYPEFLAG] = 0; // regular file, V7 style
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xFF;
    }
    octal(h, CHECKSUM, CHECKSUM_LEN, sum);
    out.write(h);
  }

  /** Pads the data just written ({@code size} bytes) to a whole block. */
  void pad(long size) throws IOException {
    int rem = (int) (size % BLOCK);
    if (rem != 0) {
      out.write(ZEROS, 0, BLOCK - rem);
    }
  }

  void file(String name, byte[] data, long mtime) throws IOException {
    header(name, data.length, mtime);
    out.write(data);
    pad(data.length);
  }

  /** The two zero blocks that end the archive. */
  void end() throws IOException {
    out.write(ZEROS);
    out.write(ZEROS);
  }

  /** {@code width-1} zero-padded octal digits and a NUL, as ocaml-tar's marshal_int. */
  private static void octal(byte[] h, int off, int width, long value) {
    String s = Long.toOctalString(value);
    if (s.length() > width - 1) {
      throw new IllegalArgumentException("value too large for a tar field: " + value);
    }
    String padded = "0".repeat(width - 1 - s.length()) + s;
    byte[] b = padded.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, off, b.length);
    h[off + width - 1] = 0;
  }
}
