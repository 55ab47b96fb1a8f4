package io.vdisk.engine;

import io.vdisk.engine.io.ReadOnlyDiskException;
import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Transfers;
import io.vdisk.engine.io.Zeros;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A raw image file as a {@link VirtualDisk}. Its extents are found by skipping holes ({@code
 * SEEK_DATA}, {@link Storage#nextData}) and reading the rest: a 64 KiB run of zeros is ZERO,
 * anything else DATA.
 */
public final class RawDisk implements VirtualDisk {
  static final int PROBE = 64 * 1024;

  private final Storage storage;
  private final long size;
  private final boolean readOnly;

  private RawDisk(Storage storage, long size, boolean readOnly) {
    this.storage = storage;
    this.size = size;
    this.readOnly = readOnly;
  }

  public static RawDisk open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly ? StorageProvider.Access.READ : StorageProvider.Access.WRITE);
  }

  public static RawDisk open(Path path, StorageProvider.Access access) throws IOException {
    Storage s = StorageProvider.FILES.open(path, access);
    return new RawDisk(s, s.size(), access != StorageProvider.Access.WRITE);
  }

  /** Creates a sparse raw file of {@code size} bytes. */
  public static RawDisk create(StorageProvider p, Path path, long size) throws IOException {
    Storage s = p.create(path);
    if (size > 0) {
      s.write(ByteBuffer.allocate(1), size - 1); // the rest stays a hole
    }
    return new RawDisk(s, size, false);
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    VirtualDisk.checkRange(this, offset, dst.remaining());
    storage.read(dst, offset);
    Zeros.fill(dst);
  }

  @Override
  public void transferTo(long offset, long length, WritableByteChannel target) throws IOException {
    VirtualDisk.checkRange(this, offset, length);
    long sent = storage.transferTo(offset, length, target);
    Transfers.zeros(length - sent, target); // a file shorter than the disk: zeros past its end
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(storage.name());
    }
    VirtualDisk.checkRange(this, offset, src.remaining());
    storage.write(src, offset);
  }

  @Override
  public void flush() throws IOException {
    if (!readOnly) {
      storage.force();
    }
  }

  @Override
  public List<Extent> extents(long from, long to) throws IOException {
    VirtualDisk.checkRange(this, from, to - from);
    List<Extent> out = new ArrayList<>();
    ByteBuffer buf = ByteBuffer.allocate(PROBE);
    long dataAt = -1;
    for (long pos = from; pos < to; pos += PROBE) {
      int n = (int) Math.min(PROBE, to - pos);
      if (dataAt < pos) {
        dataAt = storage.nextData(pos); // holes are zeros: no need to read them
      }
      Extent.Kind kind;
      if (dataAt >= pos + n) {
        kind = Extent.Kind.ZERO;
      } else {
        buf.clear().limit(n);
        read(pos, buf);
        kind = Zeros.isZero(buf.array(), n) ? Extent.Kind.ZERO : Extent.Kind.DATA;
      }
      Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == kind) {
        out.set(out.size() - 1, new Extent(last.offset(), last.length() + n, kind, -1));
      } else {
        out.add(new Extent(pos, n, kind, -1));
      }
    }
    return out;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void close() throws IOException {
    storage.close();
  }
}
