package io.vdisk.engine;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.Footer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opening any supported file as a {@link VirtualDisk}, by format or by sniffing. */
public final class Disks {
  private Disks() {}

  public enum Format {
    RAW,
    VHD
  }

  /**
   * Sniffs a file: VHD when it has a {@code conectix} cookie at offset 0 or in its last 512 (or
   * 511) bytes, else raw.
   */
  public static Format sniff(Path path) throws IOException {
    if (!Files.exists(path)) {
      throw new NoSuchFileException(path.toString());
    }
    // PEEK: sniffing takes no lock (FileStorage refuses a FIFO, which would block).
    try (Storage ch = StorageProvider.FILES.open(path, StorageProvider.Access.PEEK)) {
      long len = ch.size();
      ByteBuffer b = ByteBuffer.allocate(8);
      if (len >= 8) {
        ch.read(b, 0);
        if (Footer.hasCookie(b.flip())) {
          return Format.VHD;
        }
      }
      for (long at : new long[] {len - 512, len - 511}) {
        if (at >= 0) {
          b.clear();
          ch.read(b, at);
          if (Footer.hasCookie(b.flip())) {
            return Format.VHD;
          }
        }
      }
      return Format.RAW;
    }
  }

  /** True for a differencing VHD (a child, or a delta from {@code vdi-export base=}). */
  public static boolean isDifferencingVhd(Path path) throws IOException {
    if (sniff(path) != Format.VHD) {
      return false;
    }
    try (io.vdisk.engine.image.VhdImage img =
        io.vdisk.engine.image.VhdImage.open(
            StorageProvider.FILES.open(path, StorageProvider.Access.PEEK), true)) {
      return img.isDifferencing();
    }
  }

  /** Opens {@code path} as {@code format}, or sniffs it when {@code format} is null. */
  public static VirtualDisk open(Path path, Format format, boolean readOnly) throws IOException {
    return open(
        path, format, readOnly ? StorageProvider.Access.READ : StorageProvider.Access.WRITE);
  }

  /** As above, with the lock {@code access} names ({@code PEEK}: none, read-only). */
  public static VirtualDisk open(Path path, Format format, StorageProvider.Access access)
      throws IOException {
    return open(path, format, access, WriteRule.Grant.USER);
  }

  /** As above, a write open vouched for by {@code grant} ({@link WriteRule}). */
  public static VirtualDisk open(
      Path path, Format format, StorageProvider.Access access, WriteRule.Grant grant)
      throws IOException {
    Format f = format == null ? sniff(path) : format;
    return f == Format.VHD
        ? DiskChain.open(path, access, StorageProvider.FILES, null, grant)
        : RawDisk.open(path, access);
  }
}
