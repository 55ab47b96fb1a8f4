package io.vdisk.engine.sr;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.UUID;
import org.roaringbitmap.RoaringBitmap;

/**
 * A VDI's changed-block-tracking log, {@code <uuid>.cbtlog} beside its VHD, in blktap's on-disk
 * format ({@code struct cbt_log_metadata} of {@code include/cbt-util.h}, as {@code cbt-util} and
 * tapdisk's {@code block-log} driver read and write it): the parent log's VDI UUID (16 bytes, as
 * {@code uuid_t}), the child log's, {@code int consistent}, four bytes of padding, {@code uint64
 * size} (the disk's size in bytes), all little-endian; then one bit per 64 KiB block, bit {@code n}
 * in byte {@code n / 8} at {@code 1 << (n % 8)} (tapdisk sets bits in {@code unsigned long} words
 * of a little-endian host).
 *
 * <p>A log holds the blocks written while it was the VDI's live log: a snapshot's log the changes
 * between the snapshot before it (its parent) and itself, the live VDI's log the changes since its
 * last snapshot (its parent). {@code consistent} is 0 while a writer has the VDI open: a writer
 * that stopped without closing leaves it 0, and such a log answers nothing.
 */
final class CbtLog {
  static final int BLOCK = 64 * 1024;
  static final int HEADER = 48;
  static final UUID NIL = new UUID(0, 0);
  private static final int CONSISTENT_AT = 32;

  UUID parent;
  UUID child;
  boolean consistent;
  long size;
  byte[] bitmap;

  CbtLog(UUID parent, UUID child, boolean consistent, long size, byte[] bitmap) {
    this.parent = parent;
    this.child = child;
    this.consistent = consistent;
    this.size = size;
    this.bitmap = bitmap;
  }

  /** A new, empty, consistent log for a disk of {@code size} bytes. */
  static CbtLog empty(long size) {
    return new CbtLog(NIL, NIL, true, size, new byte[bitmapBytes(size)]);
  }

  static long blocks(long size) {
    return (size + BLOCK - 1) / BLOCK;
  }

  static int bitmapBytes(long size) {
    return (int) ((blocks(size) + 7) / 8);
  }

  static Path file(Path sr, String vdi) {
    return sr.resolve(vdi + ".cbtlog");
  }

  /** Reads a log, refusing one whose header or length does not hold together. */
  static CbtLog read(StorageProvider p, Path file) throws IOException {
    try (Storage s = p.open(file, StorageProvider.Access.PEEK)) {
      ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      if (s.read(h, 0) < HEADER) {
        throw bad(file, "shorter than its " + HEADER + "-byte header");
      }
      UUID parent = new UUID(h.order(ByteOrder.BIG_ENDIAN).getLong(0), h.getLong(8));
      UUID child = new UUID(h.getLong(16), h.getLong(24));
      h.order(ByteOrder.LITTLE_ENDIAN);
      int consistent = h.getInt(CONSISTENT_AT);
      long size = h.getLong(40);
      if (consistent != 0 && consistent != 1) {
        throw bad(file, "consistency flag " + consistent + " is neither 0 nor 1");
      }
      if (size <= 0 || size > VhdLayout.MAX_SIZE) {
        throw bad(file, "disk size " + size + " is outside 1 B .. 2040 GiB");
      }
      int n = bitmapBytes(size);
      if (s.size() < HEADER + (long) n) {
        throw bad(file, "holds " + (s.size() - HEADER) + " bitmap bytes; its size needs " + n);
      }
      ByteBuffer b = ByteBuffer.allocate(n);
      s.read(b, HEADER);
      return new CbtLog(parent, child, consistent == 1, size, b.array());
    }
  }

  private static IOException bad(Path file, String why) {
    return new io.vdisk.vhd.CorruptImageException(
        file.getFileName() + ": not a CBT log (" + why + ")");
  }

  /** Writes the whole log: under a temporary name, fsynced, renamed over {@code file}. */
  void write(StorageProvider p, Path file) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(HEADER + bitmap.length);
    header(b);
    b.position(HEADER);
    b.put(bitmap);
    io.vdisk.engine.io.Publisher.publish(
        p,
        file,
        "new",
        true,
        tmp -> {
          try (Storage s = p.create(tmp)) {
            s.write(ByteBuffer.wrap(b.array()), 0);
            s.force();
          }
          return null;
        });
  }

  private void header(ByteBuffer b) {
    b.order(ByteOrder.BIG_ENDIAN);
    b.putLong(0, parent.getMostSignificantBits()).putLong(8, parent.getLeastSignificantBits());
    b.putLong(16, child.getMostSignificantBits()).putLong(24, child.getLeastSignificantBits());
    b.order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(CONSISTENT_AT, consistent ? 1 : 0);
    b.putInt(36, 0);
    b.putLong(40, size);
  }

  /** Marks blocks {@code [first, last]}; returns the first and last byte changed, or null. */
  int[] mark(long first, long last) {
    int lo = -1;
    int hi = -1;
    for (long n = first; n <= last; n++) {
      int i = (int) (n >>> 3);
      byte bit = (byte) (1 << (n & 7));
      if ((bitmap[i] & bit) == 0) {
        bitmap[i] |= bit;
        lo = lo < 0 ? i : lo;
        hi = i;
      }
    }
    return lo < 0 ? null : new int[] {lo, hi};
  }

  /** Marks every block of the disk (its whole contents replaced). */
  void markAll() {
    if (blocks(size) > 0) {
      mark(0, blocks(size) - 1);
    }
  }

  /**
   * Grows the log to a disk of {@code newSize} bytes, new blocks unmarked ({@code cbt-util -s}).
   */
  void grow(long newSize) {
    if (newSize > size) {
      bitmap = java.util.Arrays.copyOf(bitmap, bitmapBytes(newSize));
      size = newSize;
    }
  }

  /** ORs {@code other}'s bits into this one's ({@code cbt-util coalesce}). */
  void or(CbtLog other) {
    grow(other.size);
    for (int i = 0; i < other.bitmap.length; i++) {
      bitmap[i] |= other.bitmap[i];
    }
  }

  RoaringBitmap blocks() {
    RoaringBitmap r = new RoaringBitmap();
    long n = blocks(size);
    for (int i = 0; i < bitmap.length; i++) {
      int v = bitmap[i] & 0xff;
      while (v != 0) {
        int bit = Integer.numberOfTrailingZeros(v);
        long block = (long) i * 8 + bit;
        if (block < n) {
          r.add((int) block);
        }
        v &= v - 1;
      }
    }
    return r;
  }

  /**
   * The log of a VDI open for writing: marked inconsistent (and fsynced) before the first write,
   * each write's blocks in the file before the write returns, fsynced with the disk's flush,
   * consistent again at a clean close.
   */
  static final class Tracker implements AutoCloseable {
    private final CbtLog log;
    private final Storage file;
    private boolean closed;

    Tracker(StorageProvider p, Path path, long diskSize) throws IOException {
      this.log = read(p, path);
      this.file = p.open(path, StorageProvider.Access.WRITE);
      try {
        setConsistent(false);
        if (diskSize > log.size) {
          // the VDI grew since the log last saw it (vdi-resize): the log grows with it
          log.grow(diskSize);
          file.write(ByteBuffer.wrap(log.bitmap), HEADER);
          ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, diskSize);
          file.write(b, 40);
        }
        file.force();
      } catch (IOException | RuntimeException e) {
        file.close();
        throw e;
      }
    }

    private void setConsistent(boolean c) throws IOException {
      log.consistent = c;
      ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, c ? 1 : 0);
      file.write(b, CONSISTENT_AT);
    }

    /** Records a write of {@code length} bytes at {@code offset}. */
    synchronized void written(long offset, long length) throws IOException {
      if (length <= 0) {
        return;
      }
      long end = Math.min(offset + length, log.size);
      if (end <= offset) {
        return;
      }
      int[] changed = log.mark(offset / BLOCK, (end - 1) / BLOCK);
      if (changed != null) {
        file.write(
            ByteBuffer.wrap(log.bitmap, changed[0], changed[1] - changed[0] + 1),
            HEADER + changed[0]);
      }
    }

    synchronized void flush() throws IOException {
      file.force();
    }

    @Override
    public synchronized void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        file.force();
        setConsistent(true);
        file.force();
      } finally {
        file.close();
      }
    }
  }
}
