package io.vdisk.engine;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Zeros;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Copies a {@link VirtualDisk} into a new standalone file (raw, dynamic VHD or fixed VHD) by its
 * extents: ZERO runs are never read or written, DATA runs are read in 2 MiB pieces aligned to the
 * target's blocks and all-zero pieces are skipped, so the output stays sparse. The output is
 * written under a temporary name in the target directory, fsynced, then renamed: it is visible
 * under its name only when complete.
 */
public final class Converter {
  private static final int CHUNK = VhdLayout.DEFAULT_BLOCK_SIZE;

  private Converter() {}

  public enum Target {
    RAW,
    VHD,
    VHD_FIXED,
    QCOW2
  }

  /** Result of a conversion: bytes of data copied and of zeros skipped. */
  public record Result(long dataBytes, long skippedBytes) {}

  /**
   * How zeros are treated, as qemu-img convert's {@code -S} and {@code -n} do. {@code sparse}: zero
   * and unallocated ranges are not written (false, {@code -S 0}: every byte is written, zeros as
   * data). {@code zeroTarget}: the target already holds data ({@code -n}), so every range the
   * source reads as zeros is zeroed in it (a VHD's unallocated blocks stay unallocated).
   */
  public record Options(boolean sparse, boolean zeroTarget) {
    public static final Options DEFAULT = new Options(true, false);
  }

  public static Result convert(VirtualDisk src, Path dst, Target target, Progress progress)
      throws IOException {
    return convert(StorageProvider.FILES, src, dst, target, progress);
  }

  public static Result convert(
      StorageProvider p, VirtualDisk src, Path dst, Target target, Progress progress)
      throws IOException {
    return convert(p, src, dst, target, progress, UUID.randomUUID());
  }

  /** As above; a VHD target gets {@code id} as its footer UUID (an SR export: the VDI's). */
  public static Result convert(
      StorageProvider p, VirtualDisk src, Path dst, Target target, Progress progress, UUID id)
      throws IOException {
    return convert(p, src, dst, target, progress, id, Options.DEFAULT);
  }

  /** As above, with qemu-img's treatment of zeros ({@link Options}). */
  public static Result convert(
      StorageProvider p,
      VirtualDisk src,
      Path dst,
      Target target,
      Progress progress,
      UUID id,
      Options options)
      throws IOException {
    long size = VhdLayout.roundUpToSector(src.size());
    return Publisher.publish(
        p,
        dst,
        "tmp",
        false,
        tmp -> {
          try (VirtualDisk out = createTarget(p, tmp, target, size, id)) {
            Result r = copy(src, out, progress, options);
            out.flush();
            return r;
          }
        });
  }

  private static VirtualDisk createTarget(
      StorageProvider p, Path tmp, Target target, long size, UUID id) throws IOException {
    switch (target) {
      case RAW:
        return RawDisk.create(p, tmp, size);
      case VHD:
        VhdCreator.createDynamic(
            p,
            tmp,
            new VhdCreator.Spec(
                DiskType.DYNAMIC, size, VhdLayout.DEFAULT_BLOCK_SIZE, id, Instant.now()));
        return DiskChain.open(
            tmp, StorageProvider.Access.WRITE, p, null, WriteRule.Grant.NEW_IMAGE);
      case VHD_FIXED:
        VhdCreator.createFixed(
            p,
            tmp,
            new VhdCreator.Spec(
                DiskType.FIXED, size, VhdLayout.DEFAULT_BLOCK_SIZE, id, Instant.now()));
        return DiskChain.open(
            tmp, StorageProvider.Access.WRITE, p, null, WriteRule.Grant.NEW_IMAGE);
      case QCOW2:
        return Qcow2Writer.create(p, tmp, size);
      default:
        throw new IllegalArgumentException(target.toString());
    }
  }

  /** Copies every non-zero 2 MiB piece of {@code src}'s DATA extents into {@code out}. */
  public static Result copy(VirtualDisk src, VirtualDisk out, Progress progress)
      throws IOException {
    return copy(src, out, progress, Options.DEFAULT);
  }

  /**
   * Copies {@code src} into {@code out} in 2 MiB pieces: the non-zero pieces of its DATA extents
   * (with {@code options.sparse()} false, every piece), then, with {@code options.zeroTarget()},
   * zeroes in {@code out} whatever {@code src} reads as zeros.
   */
  public static Result copy(VirtualDisk src, VirtualDisk out, Progress progress, Options options)
      throws IOException {
    long total = src.size();
    List<CopyPipeline.Piece> pieces = new ArrayList<>();
    List<long[]> zeros = new ArrayList<>();
    for (Extent e : src.extents(0, total)) {
      if (e.kind() != Extent.Kind.DATA && options.sparse()) {
        zeros.add(new long[] {e.offset(), e.length()});
        continue;
      }
      for (long pos = e.offset(); pos < e.end(); ) {
        long chunkEnd = Math.min(e.end(), (pos / CHUNK + 1) * CHUNK);
        pieces.add(new CopyPipeline.Piece(pos, (int) (chunkEnd - pos)));
        pos = chunkEnd;
      }
    }
    List<long[]> skipped = java.util.Collections.synchronizedList(new ArrayList<>());
    long written =
        CopyPipeline.run(
            pieces,
            CHUNK,
            (p, buf) -> {
              src.read(p.offset(), buf);
              if (options.sparse() && Zeros.isZero(buf.duplicate().flip())) {
                skipped.add(new long[] {p.offset(), p.length()});
                return false;
              }
              return true;
            },
            (p, buf) -> out.write(p.offset(), buf),
            progress,
            total);
    if (options.zeroTarget()) {
      zeros.addAll(skipped);
      for (long[] z : zeros) {
        out.writeZeros(z[0], z[1]);
      }
    }
    progress.update(total, total);
    return new Result(written, total - written);
  }
}
