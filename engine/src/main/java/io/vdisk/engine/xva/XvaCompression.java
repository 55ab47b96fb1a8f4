package io.vdisk.engine.xva;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;

/**
 * Whole-stream compression of an XVA: gzip (level 6, what xapi's /bin/gzip gives) and zstd (level
 * 3), both importable by XenServer; lz4 is vdisk's own fast option, not importable by XenServer.
 * Sniffing follows xapi: a tar header naming {@code ova.xml} is plain, {@code 28 B5 2F FD} zstd,
 * {@code 1F 8B} gzip, and vdisk adds the lz4 frame magic {@code 04 22 4D 18}.
 */
public enum XvaCompression {
  NONE,
  GZIP,
  ZSTD,
  LZ4;

  /** xe's {@code compress=} values: false, true, gzip, zstd; and lz4. */
  public static XvaCompression ofOption(String s) {
    return switch (s) {
      case "false", "none" -> NONE;
      case "true", "gzip" -> GZIP;
      case "zstd" -> ZSTD;
      case "lz4" -> LZ4;
      default ->
          throw new IllegalArgumentException(
              "compress= must be false, true, gzip, zstd or lz4, not '" + s + "'");
    };
  }

  OutputStream wrap(OutputStream out) throws IOException {
    return switch (this) {
      case NONE -> out;
      case GZIP -> new GZIPOutputStream(out, 1 << 16);
      case ZSTD -> new ZstdOutputStream(out, 3);
      case LZ4 -> new LZ4FrameOutputStream(out);
    };
  }

  /** Which compression {@code in} starts with; {@code in} must support mark/reset. */
  static XvaCompression sniff(BufferedInputStream in) throws IOException {
    in.mark(TarV7.BLOCK);
    byte[] head = in.readNBytes(TarV7.BLOCK);
    in.reset();
    return ofHead(head);
  }

  /** Which compression a stream starting with {@code head} uses (NONE when no magic matches). */
  public static XvaCompression ofHead(byte[] head) {
    if (starts(head, 0x28, 0xB5, 0x2F, 0xFD)) {
      return ZSTD;
    }
    if (starts(head, 0x1F, 0x8B)) {
      return GZIP;
    }
    if (starts(head, 0x04, 0x22, 0x4D, 0x18)) {
      return LZ4;
    }
    return NONE;
  }

  private static boolean starts(byte[] head, int... magic) {
    if (head.length < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((head[i] & 0xFF) != magic[i]) {
        return false;
      }
    }
    return true;
  }

  /** The command that decompresses an archive of this kind in place (for error advice). */
  public String decompressCommand() {
    return switch (this) {
      case NONE -> "";
      case GZIP -> "gunzip";
      case ZSTD -> "zstd -d";
      case LZ4 -> "lz4 -d";
    };
  }

  InputStream unwrap(InputStream in) throws IOException {
    return switch (this) {
      case NONE -> in;
      case GZIP -> new GZIPInputStream(in, 1 << 16);
      case ZSTD -> new ZstdInputStream(in);
      case LZ4 -> new LZ4FrameInputStream(in);
    };
  }
}
