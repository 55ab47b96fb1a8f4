package io.vdisk.engine.xva;

import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Writes an XVA as xapi does: {@code ova.xml} first (mtime now), then each disk in string order of
 * its id as {@code <id>/00000000}… 1 MiB chunks (the last one short, always a multiple of 512),
 * each followed at once by its checksum file; all-zero chunks are omitted except the first and last
 * of each disk; then two zero blocks. Data comes from the disks' extents: ranges no layer holds are
 * never read.
 */
public final class XvaWriter {
  public static final int CHUNK = 1 << 20;

  private XvaWriter() {}

  /** Bytes written and chunks written and skipped, for the report. */
  public record Result(long chunksWritten, long chunksSkipped, long bytesOfData) {}

  public static Result write(
      OvaArchive ova,
      Map<String, VirtualDisk> disksById,
      OutputStream rawOut,
      XvaCompression compression,
      ChunkChecksum checksum,
      Instant now)
      throws IOException {
    OutputStream compressed = compression.wrap(new BufferedOutputStream(rawOut, 1 << 20));
    TarV7 tar = new TarV7(compressed);
    tar.file(
        "ova.xml",
        OvaXml.write(ova.toRpc()).getBytes(StandardCharsets.UTF_8),
        now.getEpochSecond());
    long written = 0;
    long skipped = 0;
    long data = 0;
    List<String> ids = new ArrayList<>(disksById.keySet());
    ids.sort(Comparator.naturalOrder());
    ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    for (String id : ids) {
      VirtualDisk disk = disksById.get(id);
      long size = disk.size();
      if (size % TarV7.BLOCK != 0) {
        throw new XvaException(id + ": size " + size + " is not a multiple of 512");
      }
      long chunks = Math.max(1, (size + CHUNK - 1) / CHUNK);
      List<Extent> extents = disk.extents(0, size);
      int e = 0;
      for (long i = 0; i < chunks; i++) {
        long start = i * CHUNK;
        int len = (int) Math.min(CHUNK, size - start);
        boolean firstOrLast = i == 0 || i == chunks - 1;
        while (e < extents.size() && extents.get(e).end() <= start) {
          e++;
        }
        boolean hasData = false;
        for (int k = e; k < extents.size() && extents.get(k).offset() < start + len; k++) {
          if (extents.get(k).kind() == Extent.Kind.DATA) {
            hasData = true;
            break;
          }
        }
        if (!hasData && !firstOrLast) {
          skipped++;
          continue;
        }
        buf.clear().limit(len);
        if (hasData) {
          disk.read(start, buf);
          buf.flip();
        } else {
          java.util.Arrays.fill(buf.array(), 0, len, (byte) 0);
        }
        if (!firstOrLast && io.vdisk.engine.Disks.isZero(buf)) {
          skipped++;
          continue;
        }
        String name = String.format("%s/%08d", id, i);
        tar.header(name, len, 0);
        compressed.write(buf.array(), 0, len);
        tar.pad(len);
        tar.file(
            name + checksum.extension(), checksum.of(buf).getBytes(StandardCharsets.US_ASCII), 0);
        written++;
        data += len;
      }
    }
    tar.end();
    if (compression == XvaCompression.NONE) {
      compressed.flush();
    } else {
      compressed.close(); // ends the gzip/zstd/lz4 stream
    }
    return new Result(written, skipped, data);
  }
}
