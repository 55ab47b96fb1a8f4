package io.vdisk.engine.xva;

import io.vdisk.engine.io.Printable;
import io.vdisk.engine.io.Zeros;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads an XVA stream as xapi's import does (docs/reference/xva-format-notes.md §2.3): sniffs the
 * compression, requires {@code ova.xml} first, then for each expected disk (string order of ids)
 * its chunks, honouring the counter semantics (a gap of k is k omitted zero chunks of the first
 * chunk's size; a zero-length chunk is a keep-alive), each chunk followed by its {@code .checksum}
 * or {@code .xxhash}, verified as an exact string. Tar headers may be V7, ustar, GNU or pax
 * (commons-compress reads them all). Hostile entries (absolute, {@code ..}, links, directories) and
 * anything out of order are refused with the entry named.
 */
public final class XvaReader {
  /** The newest xapi vdisk claims to be compatible with: XCP-ng 8.x reports 1.20. */
  public static final int XAPI_MAJOR = 1;

  public static final int XAPI_MINOR = 20;

  /** Where a disk's chunks go; only non-zero data is passed. */
  @FunctionalInterface
  public interface DiskSink {
    void write(long offset, ByteBuffer data) throws IOException;
  }

  /** Opens the sink of each disk as the stream reaches it. */
  @FunctionalInterface
  public interface Target {
    DiskSink open(OvaArchive.Disk disk) throws IOException;
  }

  /** What was read. */
  public record Result(
      OvaArchive ova,
      XvaCompression compression,
      String tarDialect,
      ChunkChecksum checksum,
      long chunks,
      long keepAlives,
      List<String> warnings) {}

  private XvaReader() {}

  /** Reads only ova.xml (for listing): sniffs, decompresses, parses, validates. */
  public static Result readMetadata(InputStream raw) throws IOException {
    return read(raw, null, false, true, io.vdisk.engine.Progress.NONE);
  }

  public static Result read(InputStream raw, Target target, boolean force) throws IOException {
    return read(raw, target, force, false, io.vdisk.engine.Progress.NONE);
  }

  /** As above, reporting the disks' bytes placed (all disks as one total) to {@code progress}. */
  public static Result read(
      InputStream raw, Target target, boolean force, io.vdisk.engine.Progress progress)
      throws IOException {
    return read(raw, target, force, false, progress);
  }

  private static Result read(
      InputStream raw,
      Target target,
      boolean force,
      boolean metadataOnly,
      io.vdisk.engine.Progress progress)
      throws IOException {
    List<String> warnings = new ArrayList<>();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()), XvaWriter.daemon());
    XvaCompression compression = XvaCompression.NONE;
    try {
      BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
      compression = XvaCompression.sniff(in);
      InputStream plain = new BufferedInputStream(compression.unwrap(in), 1 << 16);
      plain.mark(TarV7.BLOCK);
      byte[] firstHeader = plain.readNBytes(TarV7.BLOCK);
      plain.reset();
      String dialect = dialect(firstHeader);
      return readTar(
          new TarArchiveInputStream(plain),
          compression,
          dialect,
          target,
          force,
          metadataOnly,
          warnings,
          pool,
          progress);
    } catch (IOException e) {
      if (e instanceof XvaException
          || e instanceof SinkException
          || e instanceof io.vdisk.engine.io.Cancellation.Cancelled) {
        throw e;
      }
      throw new XvaException(
          "bad or truncated archive"
              + (compression == XvaCompression.NONE
                  ? ""
                  : " (" + compression.name().toLowerCase(java.util.Locale.ROOT) + ")")
              + ": "
              + e.getMessage(),
          e);
    } finally {
      pool.shutdownNow();
    }
  }

  /** A failure to write a disk (the SR's fault, not the archive's). */
  static final class SinkException extends IOException {
    private static final long serialVersionUID = 1L;

    SinkException(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private static Result readTar(
      TarArchiveInputStream tarIn,
      XvaCompression compression,
      String dialect,
      Target target,
      boolean force,
      boolean metadataOnly,
      List<String> warnings,
      java.util.concurrent.ExecutorService pool,
      io.vdisk.engine.Progress progress)
      throws IOException {
    try (TarArchiveInputStream tar = tarIn) {
      OvaArchive ova = readOvaXml(tar, compression);
      if (metadataOnly) {
        return new Result(ova, compression, dialect, null, 0, 0, warnings);
      }
      DiskReader reader = new DiskReader(tar, force, warnings, pool);
      long all = 0;
      for (OvaArchive.Disk disk : ova.disks()) {
        all += disk.virtualSize();
      }
      long base = 0;
      for (OvaArchive.Disk disk : ova.disks()) {
        long before = base;
        long total = all;
        reader.read(disk, openSink(target, disk), done -> progress.update(before + done, total));
        base += disk.virtualSize();
      }
      return new Result(
          ova, compression, dialect, reader.kind, reader.chunks, reader.keepAlives, warnings);
    }
  }

  /** The first entry, {@code ova.xml}: parsed, its version and required fields checked. */
  private static OvaArchive readOvaXml(TarArchiveInputStream tar, XvaCompression compression)
      throws IOException {
    TarArchiveEntry first = next(tar, "ova.xml");
    if (first == null || !first.getName().equals("ova.xml")) {
      throw new XvaException(
          "not an XVA: the first tar entry must be 'ova.xml'"
              + (first == null
                  ? ", the archive is empty"
                  : ", found '" + Printable.of(first.getName()) + "'")
              + (compression == XvaCompression.NONE && first == null
                  ? " (or a compression vdisk does not know)"
                  : ""));
    }
    if (first.getSize() > OvaXml.MAX_BYTES) {
      throw new XvaException("ova.xml: " + first.getSize() + " bytes is over the limit");
    }
    OvaArchive ova = OvaArchive.of(OvaXml.parse(tar.readNBytes((int) first.getSize())));
    ova.checkVersion(XAPI_MAJOR, XAPI_MINOR);
    ova.checkRequiredFields();
    return ova;
  }

  private static DiskSink openSink(Target target, OvaArchive.Disk disk) throws IOException {
    try {
      return target.open(disk);
    } catch (XvaException e) {
      throw e;
    } catch (IOException e) {
      throw new SinkException(e); // the SR's fault (a full disk), not the archive's
    }
  }

  /** One chunk as read from the tar: where it goes, its bytes and the checksum stored for it. */
  private record Chunk(
      String name, long offset, ByteBuffer data, ChunkChecksum kind, String stored) {}

  /**
   * Reads the disks' chunks in archive order, placing them with one {@link ChunkCounter}, and
   * verifies and writes each on the pool while this thread reads on (hashing is the bottleneck), at
   * most {@link #WINDOW} ahead.
   */
  private static final class DiskReader {
    private final TarArchiveInputStream tar;
    private final boolean force;
    private final List<String> warnings;
    private final java.util.concurrent.ExecutorService pool;
    private final ChunkCounter counter = new ChunkCounter();
    private final java.util.Deque<java.util.concurrent.Future<Void>> window =
        new java.util.ArrayDeque<>();
    private final byte[] data = new byte[XvaWriter.CHUNK * 4];
    private long chunks;
    private long keepAlives;
    private ChunkChecksum kind;

    DiskReader(
        TarArchiveInputStream tar,
        boolean force,
        List<String> warnings,
        java.util.concurrent.ExecutorService pool) {
      this.tar = tar;
      this.force = force;
      this.warnings = warnings;
      this.pool = pool;
    }

    void read(OvaArchive.Disk disk, DiskSink sink, java.util.function.LongConsumer placed)
        throws IOException {
      ChunkCounter.Disk place = counter.disk(disk.id(), disk.virtualSize());
      while (!place.complete()) {
        placed.accept(place.offset());
        io.vdisk.engine.io.Cancellation.checkpoint();
        Chunk c = nextChunk(disk, place);
        kind = kind == null ? c.kind() : kind;
        if (!c.data().hasRemaining()) {
          keepAlives++;
        }
        window.add(pool.submit(() -> verifyAndWrite(c, sink)));
        while (window.size() > WINDOW) {
          await(window.removeFirst());
        }
        chunks++;
      }
      while (!window.isEmpty()) {
        await(window.removeFirst());
      }
      placed.accept(disk.virtualSize());
    }

    /** The next chunk of {@code disk} and its checksum entry, both checked for shape. */
    private Chunk nextChunk(OvaArchive.Disk disk, ChunkCounter.Disk place) throws IOException {
      String prefix = disk.id() + "/";
      TarArchiveEntry e = next(tar, prefix + "<chunk>");
      if (e == null) {
        throw new XvaException(
            String.format(
                "archive ends inside disk %s at byte %d of %d (truncated)",
                disk.id(), place.offset(), disk.virtualSize()));
      }
      String name = e.getName();
      if (!name.startsWith(prefix)) {
        throw new XvaException(
            "expected a chunk of disk "
                + disk.id()
                + " (at byte "
                + place.offset()
                + " of "
                + disk.virtualSize()
                + "), found '"
                + Printable.of(name)
                + "'");
      }
      long len = e.getSize();
      if (len > data.length) {
        throw new XvaException(
            "'" + Printable.of(name) + "': chunk of " + len + " bytes is too large");
      }
      long offset = place.place(name, name.substring(prefix.length()), len);
      int n = tar.readNBytes(data, 0, (int) len);
      if (n != len) {
        throw new XvaException(
            "'" + Printable.of(name) + "': truncated (" + n + " of " + len + " bytes)");
      }
      ByteBuffer bytes = ByteBuffer.wrap(java.util.Arrays.copyOf(data, (int) len));
      TarArchiveEntry c = next(tar, name + ".checksum");
      ChunkChecksum k = c == null ? null : ChunkChecksum.ofName(c.getName());
      if (c == null || k == null || !c.getName().equals(name + k.extension())) {
        throw new XvaException(
            "'"
                + Printable.of(name)
                + "': expected its checksum file "
                + Printable.of(name)
                + ".checksum or .xxhash, found "
                + (c == null ? "the end of the archive" : "'" + Printable.of(c.getName()) + "'"));
      }
      String stored =
          new String(tar.readNBytes((int) Math.min(c.getSize(), 128)), StandardCharsets.US_ASCII);
      return new Chunk(name, offset, bytes, k, stored);
    }

    /** On the pool: a bad checksum fails (or, forced, warns); non-zero data is written. */
    private Void verifyAndWrite(Chunk c, DiskSink sink) throws IOException {
      String computed = c.kind().of(c.data());
      if (!c.stored().equals(computed)) {
        String msg =
            String.format(
                "block %s checksum failed: archive has %s, data gives %s",
                Printable.of(c.name()), Printable.of(c.stored()), computed);
        if (!force) {
          throw new XvaException(msg);
        }
        synchronized (warnings) {
          warnings.add(msg);
        }
      }
      if (c.data().hasRemaining() && !Zeros.isZero(c.data())) {
        try {
          sink.write(c.offset(), c.data());
        } catch (IOException failure) {
          throw new SinkException(failure);
        }
      }
      return null;
    }
  }

  private static final int WINDOW = 8;

  private static void await(java.util.concurrent.Future<Void> f) throws IOException {
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("import interrupted");
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /** The next entry, refusing hostile ones; null at the end. */
  private static TarArchiveEntry next(TarArchiveInputStream tar, String expected)
      throws IOException {
    TarArchiveEntry e = tar.getNextEntry();
    if (e == null) {
      return null;
    }
    String name = e.getName();
    if (name.startsWith("/")
        || name.equals("..")
        || name.startsWith("../")
        || name.contains("/../")
        || name.endsWith("/..")) {
      throw new XvaException(
          "refusing entry '" + Printable.of(name) + "' (absolute or leaving the archive)");
    }
    if (e.isSymbolicLink() || e.isLink()) {
      throw new XvaException(
          "refusing entry '"
              + Printable.of(name)
              + "': a link (to '"
              + Printable.of(e.getLinkName())
              + "')");
    }
    if (!e.isFile()) {
      throw new XvaException(
          "refusing entry '"
              + Printable.of(name)
              + "': not a regular file (expected "
              + Printable.of(expected)
              + ")");
    }
    return e;
  }

  /** The tar header dialect of the first entry: magic at offset 257. */
  static String dialect(byte[] header) {
    if (header.length < 265) {
      return "unknown";
    }
    String magic = new String(header, 257, 8, StandardCharsets.ISO_8859_1);
    if (magic.startsWith("ustar  ")) {
      return "GNU tar";
    }
    if (magic.startsWith("ustar")) {
      return header[156] == 'x' || header[156] == 'g' ? "pax" : "ustar";
    }
    return "V7 (as xapi writes)";
  }
}
