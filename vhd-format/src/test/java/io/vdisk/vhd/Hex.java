package io.vdisk.vhd;

import java.nio.ByteBuffer;

final class Hex {
  private Hex() {}

  /** Bytes from an xxd-style dump: hex pairs, spaces ignored. */
  static byte[] bytes(String hex) {
    String h = hex.replaceAll("\\s", "");
    byte[] out = new byte[h.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  static ByteBuffer padded(byte[] head, int size) {
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(head);
    return b.clear();
  }
}
