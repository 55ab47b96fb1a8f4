package io.vdisk.engine.xva;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The inline checksum of a chunk: {@code .checksum} is SHA-1 as 40 lowercase hex digits, {@code
 * .xxhash} XXH64 with seed 0 as 16 uppercase hex digits ({@code %016LX}); neither has a newline.
 * xapi compares them as exact strings.
 */
public enum ChunkChecksum {
  SHA1(".checksum"),
  XXHASH(".xxhash");

  private static final XXHashFactory XX = XXHashFactory.fastestInstance();

  private final String extension;

  ChunkChecksum(String extension) {
    this.extension = extension;
  }

  public String extension() {
    return extension;
  }

  /** The checksum kind for an entry name's extension, or null. */
  static ChunkChecksum ofName(String name) {
    for (ChunkChecksum c : values()) {
      if (name.endsWith(c.extension)) {
        return c;
      }
    }
    return null;
  }

  /** The checksum text of the remaining bytes of {@code data} (its position is unchanged). */
  public String of(ByteBuffer data) {
    ByteBuffer d = data.duplicate();
    if (this == SHA1) {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-1");
        md.update(d);
        return HexFormat.of().formatHex(md.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
    long h =
        d.hasArray()
            ? XX.hash64().hash(d.array(), d.arrayOffset() + d.position(), d.remaining(), 0)
            : XX.hash64().hash(d, d.position(), d.remaining(), 0);
    return String.format(Locale.ROOT, "%016X", h);
  }
}
