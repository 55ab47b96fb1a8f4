package io.vdisk.vhd;

import java.nio.ByteBuffer;
import java.util.UUID;

/** UUIDs as VHD stores them: 16 raw bytes in RFC 4122 (big-endian) order. */
final class Uuids {
  static final UUID NIL = new UUID(0, 0);

  private Uuids() {}

  static UUID read(ByteBuffer buf, int at) {
    return new UUID(buf.getLong(at), buf.getLong(at + 8));
  }

  static void write(ByteBuffer buf, int at, UUID uuid) {
    buf.putLong(at, uuid.getMostSignificantBits());
    buf.putLong(at + 8, uuid.getLeastSignificantBits());
  }
}
