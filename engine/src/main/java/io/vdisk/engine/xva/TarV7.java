package io.vdisk.engine.xva;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes tar entries exactly as xapi does through ocaml-tar's default V7 level: no magic, mode
 * 0400, uid and gid 0, zero-padded octal fields each ended by one NUL, typeflag NUL, and the header
 * checksum as 7 octal digits and a NUL (xva-format-notes §2.2). The archive ends with two zero
 * blocks and no record padding. Hand-written because no library writes this dialect; reading uses
 * commons-compress, which reads every dialect.
 */
final class TarV7 {
  static final int BLOCK = 512;
  private static final byte[] ZEROS = new byte[BLOCK];

  private final OutputStream out;

  TarV7(OutputStream out) {
    this.out = out;
  }

  /** Writes a header for a file of {@code size} bytes; the caller then writes the data. */
  void header(String name, long size, long mtimeSeconds) throws IOException {
    byte[] h = new byte[BLOCK];
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    if (n.length > 100) {
      throw new IllegalArgumentException("tar name longer than 100 bytes: " + name);
    }
    System.arraycopy(n, 0, h, 0, n.length);
    octal(h, 100, 8, 0400);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, size);
    octal(h, 136, 12, mtimeSeconds);
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    h[156] = 0; // typeflag: regular file, V7 style
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xFF;
    }
    octal(h, 148, 8, sum);
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
