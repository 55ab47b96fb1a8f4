package io.vdisk.engine.xva;

import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.io.Storages;
import io.vdisk.engine.io.Zeros;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

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

  /** A chunk ready to write: its index, data (null when it is to be omitted) and checksum. */
  private record Chunk(long index, ByteBuffer data, String checksum) {}

  /**
   * The chunks worth looking at: those overlapping DATA extents, and always the first and last
   * (ranges no layer holds are never read).
   */
  private static List<Long> candidates(VirtualDisk disk, long size) throws IOException {
    long chunks = Math.max(1, (size + CHUNK - 1) / CHUNK);
    List<Long> out = new ArrayList<>();
    List<Extent> extents = disk.extents(0, size);
    int e = 0;
    for (long i = 0; i < chunks; i++) {
      long start = i * CHUNK;
      long end = Math.min(size, start + CHUNK);
      while (e < extents.size() && extents.get(e).end() <= start) {
        e++;
      }
      boolean hasData = false;
      for (int k = e; k < extents.size() && extents.get(k).offset() < end; k++) {
        hasData |= extents.get(k).kind() == Extent.Kind.DATA;
      }
      if (hasData || i == 0 || i == chunks - 1) {
        out.add(i);
      }
    }
    return out;
  }

  /**
   * Reads and hashes chunk {@code i} into a buffer from {@code buffers}; its data is null (and the
   * buffer back in the pool) when it is all zeros and may be omitted.
   */
  private static Chunk chunk(
      VirtualDisk disk,
      long size,
      long i,
      ChunkChecksum checksum,
      java.util.concurrent.BlockingQueue<ByteBuffer> buffers)
      throws IOException {
    long start = i * CHUNK;
    int len = (int) Math.min(CHUNK, size - start);
    long chunks = Math.max(1, (size + CHUNK - 1) / CHUNK);
    boolean firstOrLast = i == 0 || i == chunks - 1;
    ByteBuffer buf;
    try {
      buf = buffers.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("export interrupted");
    }
    buf.clear().limit(len);
    disk.read(start, buf);
    buf.flip();
    if (!firstOrLast && Zeros.isZero(buf)) {
      buffers.add(buf);
      return new Chunk(i, null, null);
    }
    return new Chunk(i, buf, checksum.of(buf));
  }

  private static Chunk await(Future<Chunk> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("export interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  static ThreadFactory daemon() {
    return r -> {
      Thread t = new Thread(r, "vdisk-xva");
      t.setDaemon(true);
      return t;
    };
  }

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
    return write(ova, disksById, rawOut, compression, checksum, now, io.vdisk.engine.Progress.NONE);
  }

  /** As above, reporting the disks' bytes done (all disks as one total) to {@code progress}. */
  public static Result write(
      OvaArchive ova,
      Map<String, VirtualDisk> disksById,
      OutputStream rawOut,
      XvaCompression compression,
      ChunkChecksum checksum,
      Instant now,
      io.vdisk.engine.Progress progress)
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
    // Chunks are read, zero-checked and hashed on a small pool while this thread writes them in
    // order: hashing (SHA-1 is ~1.5 GiB/s a core) is the bottleneck, and it parallelises. Their
    // buffers are reused: direct ones when the archive goes uncompressed into a file (read from
    // the disk's file and written to the archive's without passing through a byte[]), heap ones
    // for a compressor or a stream, which take byte[]s.
    int workers = Math.max(2, Runtime.getRuntime().availableProcessors());
    int window = workers * 3;
    Storages.BufferSink sink =
        compression == XvaCompression.NONE && rawOut instanceof Storages.BufferSink b ? b : null;
    java.util.concurrent.BlockingQueue<ByteBuffer> buffers =
        new java.util.concurrent.ArrayBlockingQueue<>(window + 1);
    for (int k = 0; k <= window; k++) {
      buffers.add(sink != null ? ByteBuffer.allocateDirect(CHUNK) : ByteBuffer.allocate(CHUNK));
    }
    ExecutorService pool = Executors.newFixedThreadPool(workers, daemon());
    long all = 0;
    for (VirtualDisk d : disksById.values()) {
      all += d.size();
    }
    long base = 0;
    try {
      for (String id : ids) {
        VirtualDisk disk = disksById.get(id);
        long size = disk.size();
        if (size % TarV7.BLOCK != 0) {
          throw new XvaException(id + ": size " + size + " is not a multiple of 512");
        }
        List<Long> candidates = candidates(disk, size);
        skipped += Math.max(1, (size + CHUNK - 1) / CHUNK) - candidates.size();
        Deque<Future<Chunk>> inFlight = new ArrayDeque<>();
        int next = 0;
        while (next < candidates.size() || !inFlight.isEmpty()) {
          while (next < candidates.size() && inFlight.size() < window) {
            long i = candidates.get(next++);
            inFlight.add(pool.submit(() -> chunk(disk, size, i, checksum, buffers)));
          }
          io.vdisk.engine.io.Cancellation.checkpoint();
          Chunk c = await(inFlight.removeFirst());
          progress.update(base + Math.min(size, (c.index() + 1) * CHUNK), all);
          if (c.data() == null) {
            skipped++;
            continue;
          }
          String name = String.format("%s/%08d", id, c.index());
          int len = c.data().remaining();
          tar.header(name, len, 0);
          if (sink != null) {
            compressed.flush(); // the header, before the data goes past the stream's buffer
            sink.write(c.data());
          } else {
            compressed.write(c.data().array(), c.data().arrayOffset(), len);
          }
          buffers.add(c.data());
          tar.pad(len);
          tar.file(
              name + checksum.extension(), c.checksum().getBytes(StandardCharsets.US_ASCII), 0);
          written++;
          data += len;
        }
        base += size;
        progress.update(base, all);
      }
    } finally {
      pool.shutdownNow();
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
