package io.vdisk.engine.xva;

import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.io.ReadOnlyDiskException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * One disk of an uncompressed XVA, read in place through an index of its chunks (where each chunk's
 * bytes sit in the archive), with no extraction and no copy: chunks the archive omits read as
 * zeros. Read-only. Checksums are not verified here ({@code xva-verify} does that).
 */
public final class XvaDisk implements VirtualDisk {
  /** Where a chunk's data is: its offset in the disk and in the archive, and its length. */
  private record Chunk(long diskOffset, long archiveOffset, long length) {}

  private final FileChannel archive;
  private final String name;
  private final long size;
  private final List<Chunk> chunks;

  private XvaDisk(FileChannel archive, String name, long size, List<Chunk> chunks) {
    this.archive = archive;
    this.name = name;
    this.size = size;
    this.chunks = chunks;
  }

  /** Opens every disk of the archive, keyed by its VDI id, with the archive's metadata. */
  public static Map<OvaArchive.Disk, XvaDisk> openAll(Path xva) throws IOException {
    List<TarArchiveEntry> entries;
    OvaArchive ova;
    try (TarFile tar = new TarFile(xva)) {
      entries = tar.getEntries();
      if (entries.isEmpty() || !entries.get(0).getName().equals("ova.xml")) {
        throw new XvaException(
            xva
                + ": not an uncompressed XVA (no ova.xml first); a compressed one must be decompressed first");
      }
      try (var in = tar.getInputStream(entries.get(0))) {
        ova =
            OvaArchive.of(
                OvaXml.parse(
                    in.readNBytes(
                        (int) Math.min(entries.get(0).getSize(), OvaXml.MAX_BYTES + 1L))));
      }
    } catch (XvaException e) {
      throw e;
    } catch (IOException e) {
      throw new XvaException(
          xva
              + ": not an uncompressed XVA ("
              + e.getMessage()
              + "); a compressed one must be decompressed first",
          e);
    }
    Map<OvaArchive.Disk, XvaDisk> out = new LinkedHashMap<>();
    ChunkCounter counter = new ChunkCounter();
    for (OvaArchive.Disk d : ova.disks()) {
      String prefix = d.id() + "/";
      List<Chunk> list = new ArrayList<>();
      ChunkCounter.Disk place = counter.disk(d.id(), d.virtualSize());
      for (TarArchiveEntry e : entries) {
        String name = e.getName();
        if (!name.startsWith(prefix) || ChunkChecksum.ofName(name) != null) {
          continue;
        }
        try {
          long at = place.place(name, name.substring(prefix.length()), e.getSize());
          if (e.getSize() > 0) {
            list.add(new Chunk(at, e.getDataOffset(), e.getSize()));
          }
        } catch (XvaException bad) {
          throw new XvaException(xva + ": " + bad.getMessage());
        }
      }
      out.put(
          d,
          new XvaDisk(
              FileChannel.open(xva, StandardOpenOption.READ),
              xva + ":" + d.id(),
              d.virtualSize(),
              list));
    }
    return out;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    VirtualDisk.checkRange(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int i = find(pos);
      if (i >= 0) {
        Chunk c = chunks.get(i);
        int n = (int) Math.min(dst.remaining(), c.diskOffset() + c.length() - pos);
        ByteBuffer part = dst.slice(dst.position(), n);
        long at = c.archiveOffset() + (pos - c.diskOffset());
        while (part.hasRemaining()) {
          if (archive.read(part, at + part.position()) < 0) {
            throw new XvaException("archive truncated inside a chunk");
          }
        }
        dst.position(dst.position() + n);
        pos += n;
      } else {
        int next = -i - 1;
        long end = next < chunks.size() ? chunks.get(next).diskOffset() : size;
        int n = (int) Math.min(dst.remaining(), end - pos);
        for (int k = 0; k < n; k++) {
          dst.put((byte) 0);
        }
        pos += n;
      }
    }
  }

  /** Index of the chunk holding {@code pos}, or {@code -(insertion point) - 1}. */
  private int find(long pos) {
    int lo = 0;
    int hi = chunks.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      Chunk c = chunks.get(mid);
      if (pos < c.diskOffset()) {
        hi = mid - 1;
      } else if (pos >= c.diskOffset() + c.length()) {
        lo = mid + 1;
      } else {
        return mid;
      }
    }
    return -lo - 1;
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    throw new ReadOnlyDiskException(name, "an XVA archive's disks are read-only");
  }

  @Override
  public void flush() {}

  @Override
  public List<Extent> extents(long from, long to) {
    VirtualDisk.checkRange(this, from, to - from);
    List<Extent> out = new ArrayList<>();
    long pos = from;
    for (Chunk c : chunks) {
      long s = Math.max(from, c.diskOffset());
      long e = Math.min(to, c.diskOffset() + c.length());
      if (e <= s) {
        continue;
      }
      if (s > pos) {
        out.add(new Extent(pos, s - pos, Extent.Kind.ZERO, -1));
      }
      Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == Extent.Kind.DATA && last.end() == s) {
        out.set(out.size() - 1, new Extent(last.offset(), e - last.offset(), Extent.Kind.DATA, 0));
      } else {
        out.add(new Extent(s, e - s, Extent.Kind.DATA, 0));
      }
      pos = e;
    }
    if (pos < to) {
      out.add(new Extent(pos, to - pos, Extent.Kind.ZERO, -1));
    }
    return out;
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public void close() throws IOException {
    archive.close();
  }
}
