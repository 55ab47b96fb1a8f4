package io.vdisk.engine.sr;

import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Progress;
import io.vdisk.engine.Streams;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * A VDI's contents in and out whole ({@code vdi-import}, {@code vdi-export}): from a file or a
 * stream into a new standalone image renamed over the VDI's file, and to a file or a stream. The
 * VDIs' life cycle (create, snapshot, clone, copy, destroy, resize) is {@link Vdis}'s.
 */
public final class VdiContents {
  private VdiContents() {}

  /**
   * vdi-import: replaces the VDI's contents with a raw or VHD file's, whole: the new contents are
   * written as a standalone image under a temporary name and renamed over the VDI's file (its old
   * ancestors become garbage for sr-gc).
   */
  public static void importFrom(StorageRepository sr, String uuid, Path source, Disks.Format format)
      throws IOException {
    replaceContents(
        sr,
        uuid,
        out -> {
          try (VirtualDisk src = Disks.open(source, format, true)) {
            if (src.size() > out.size()) {
              throw new SrException(
                  SrException.Kind.INVALID,
                  source + " holds " + src.size() + " bytes; VDI " + uuid + " has " + out.size());
            }
            Converter.copy(src, out, sr.progress());
          }
        },
        format == Disks.Format.VHD ? footerUuid(source) : null);
  }

  /** A VHD's footer UUID, which a delta over it names as its parent. */
  private static String footerUuid(Path vhd) throws IOException {
    try (VhdImage img =
        VhdImage.open(StorageProvider.FILES.open(vhd, StorageProvider.Access.PEEK), true)) {
      return img.footer().uniqueId().toString();
    }
  }

  /** vdi-import from a stream (a pipe, stdin): raw bytes, or a dynamic or fixed VHD. */
  public static void importFrom(
      StorageRepository sr, String uuid, InputStream in, Disks.Format format, Progress progress)
      throws IOException {
    try (StagedContents staged = stageContents(sr, uuid, in, format, progress)) {
      commitContents(sr, staged);
    }
  }

  /**
   * A VDI's new contents read from a stream into a temporary image of the SR (named for this
   * process: another command's sweep leaves it while this one lives), not yet the VDI's. Closing it
   * removes the image unless {@link #commitContents} took it.
   */
  public static final class StagedContents implements java.io.Closeable {
    private final StorageRepository sr;
    private final String vdi;
    private final Path tmp;
    private final long size;
    private boolean taken;

    private StagedContents(StorageRepository sr, String vdi, Path tmp, long size) {
      this.sr = sr;
      this.vdi = vdi;
      this.tmp = tmp;
      this.size = size;
    }

    @Override
    public void close() throws IOException {
      if (!taken) {
        sr.provider().delete(tmp);
      }
    }
  }

  /**
   * Reads a stream into a new standalone image of the VDI's size, under no lock (a stream may pause
   * for as long as its sender likes; the SR and the VDI stay free meanwhile).
   */
  public static StagedContents stageContents(
      StorageRepository sr, String uuid, InputStream in, Disks.Format format, Progress progress)
      throws IOException {
    sr.requireWritableVdi(uuid);
    StorageProvider p = sr.provider();
    long size;
    try (DiskChain c = sr.chain(uuid, true)) {
      size = c.size();
    }
    Path tmp = io.vdisk.engine.io.TempFiles.next(sr.file(uuid), "import");
    p.delete(tmp);
    StagedContents staged = new StagedContents(sr, uuid, tmp, size);
    try {
      VhdCreator.createDynamic(p, tmp, VhdCreator.Spec.dynamic(size));
      try (DiskChain out =
          DiskChain.open(
              tmp, StorageProvider.Access.WRITE, p, sr.dir(), WriteRule.Grant.NEW_IMAGE)) {
        if (format == Disks.Format.VHD) {
          Streams.readVhd(in, out, progress);
        } else {
          Streams.readRaw(in, out, progress);
        }
        out.flush();
      }
      return staged;
    } catch (IOException | RuntimeException e) {
      try {
        staged.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Makes staged contents the VDI's, under its lock: refused if the VDI was resized or became
   * read-only meanwhile; its CBT log marks everything changed, then the staged image is renamed
   * over the VDI's file (its old ancestors become garbage for sr-gc), all under {@code
   * Cbt.guarded}.
   */
  public static void commitContents(StorageRepository sr, StagedContents staged)
      throws IOException {
    sr.requireWritable();
    sr.requireWritableVdi(staged.vdi);
    try (SrLock l = sr.vdiLock(staged.vdi, true, "vdi-import")) {
      long size;
      try (DiskChain c = sr.chain(staged.vdi, true)) {
        size = c.size();
      }
      if (size != staged.size) {
        throw new SrException(
            SrException.Kind.INVALID,
            "VDI "
                + staged.vdi
                + " was resized while the import read its input ("
                + staged.size
                + " -> "
                + size
                + " bytes); import again");
      }
      Cbt.guarded(
          sr,
          List.of(staged.vdi),
          () -> {
            Cbt.replacing(sr, staged.vdi, size);
            sr.provider().move(staged.tmp, sr.file(staged.vdi));
            staged.taken = true;
          });
      sr.catalog().transaction(() -> sr.catalog().putConfig(staged.vdi, Deltas.CONTENT, null));
    }
  }

  /** What fills a VDI's new contents. */
  @FunctionalInterface
  private interface Filler {
    void fill(VirtualDisk out) throws IOException;
  }

  /**
   * Replaces the VDI's contents; {@code content} is the UUID of the image they now are (a VHD's
   * footer UUID, which deltas over it name), or null.
   */
  private static void replaceContents(
      StorageRepository sr, String uuid, Filler filler, String content) throws IOException {
    sr.requireWritable();
    sr.requireWritableVdi(uuid);
    StorageProvider p = sr.provider();
    try (SrLock l = sr.vdiLock(uuid, true, "vdi-import")) {
      long size;
      try (DiskChain c = sr.chain(uuid, true)) {
        size = c.size();
      }
      Cbt.guarded(
          sr,
          List.of(uuid),
          () -> {
            Cbt.replacing(sr, uuid, size);
            Publisher.publish(
                p,
                sr.file(uuid),
                "import",
                true,
                tmp -> {
                  VhdCreator.createDynamic(p, tmp, VhdCreator.Spec.dynamic(size));
                  try (DiskChain out =
                      DiskChain.open(
                          tmp,
                          StorageProvider.Access.WRITE,
                          p,
                          sr.dir(),
                          WriteRule.Grant.NEW_IMAGE)) {
                    filler.fill(out);
                    out.flush();
                  }
                  return null;
                });
          });
      sr.catalog().transaction(() -> sr.catalog().putConfig(uuid, Deltas.CONTENT, content));
    }
  }

  public static Converter.Result exportTo(
      StorageRepository sr, String uuid, Path target, Converter.Target format) throws IOException {
    try (VirtualDisk c = sr.openVdi(uuid, true, "vdi-export")) {
      return Converter.convert(
          StorageProvider.FILES, c, target, format, sr.progress(), UUID.fromString(uuid));
    }
  }

  /** vdi-export to a stream: raw bytes in order, or a dynamic VHD written sequentially. */
  public static long exportTo(
      StorageRepository sr,
      String uuid,
      OutputStream out,
      Converter.Target format,
      Progress progress)
      throws IOException {
    try (VirtualDisk c = sr.openVdi(uuid, true, "vdi-export")) {
      return format == Converter.Target.RAW
          ? Streams.writeRaw(c, out, progress)
          : Streams.writeVhd(c, out, progress, UUID.fromString(uuid));
    }
  }
}
