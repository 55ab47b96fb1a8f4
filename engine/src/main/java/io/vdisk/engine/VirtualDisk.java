package io.vdisk.engine;

import io.vdisk.engine.io.ReadOnlyDiskException;
import io.vdisk.engine.io.Transfers;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A guest-visible disk: bytes {@code [0, size())} at absolute offsets, no file position, safe to
 * share across threads. Raw files, fixed and dynamic images, chains, SR VDIs and XVA-backed disks
 * all implement it; convert, copy, export, FUSE and the command line only ever see this.
 *
 * <p>The contract every implementation keeps ({@code VirtualDiskContract} runs it over each, at 512
 * B, 4 KiB and 2 MiB blocks):
 *
 * <ul>
 *   <li>{@code read} fills the whole buffer (any kind of buffer, from its position); a range past
 *       {@link #size()} or a negative offset is refused with {@link IllegalArgumentException}
 *       before anything is read; an empty read at {@code size()} is allowed;
 *   <li>a write or {@code writeZeros} on a disk opened read-only is refused with {@link
 *       ReadOnlyDiskException} before anything is touched (exit 3, {@code EROFS}); a write past the
 *       end with {@link IllegalArgumentException}; a write consumes its buffer;
 *   <li>{@code extents(from, to)} covers exactly {@code [from, to)} in order, adjacent runs of one
 *       kind and layer merged, never ABSENT; ZERO runs read as zeros, every non-zero byte lies in a
 *       DATA run; a range outside the disk is refused with {@link IllegalArgumentException};
 *   <li>after {@code flush()} returns, every write before it survives close, a crash and reopen;
 *   <li>readers may run concurrently; {@code close()} is idempotent; any I/O after it fails with an
 *       {@link IOException}.
 * </ul>
 */
public interface VirtualDisk extends Closeable {
  long size();

  /**
   * Reads {@code dst.remaining()} bytes at {@code offset}. Reading past {@link #size()} is an
   * error.
   */
  void read(long offset, ByteBuffer dst) throws IOException;

  /** Writes {@code src.remaining()} bytes at {@code offset}; durable only after {@link #flush}. */
  void write(long offset, ByteBuffer src) throws IOException;

  /**
   * Makes the range read as zeros. The default writes zero buffers; images override it to skip
   * space no layer holds.
   */
  default void writeZeros(long offset, long length) throws IOException {
    writeZeroBuffers(this, offset, length);
  }

  /**
   * Writes real zero bytes over the range, allocating what a hole would leave unallocated (NBD's
   * {@code NO_HOLE}); the default {@link #writeZeros}.
   */
  static void writeZeroBuffers(VirtualDisk d, long offset, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
    long done = 0;
    while (done < length) {
      int n = (int) Math.min(zeros.capacity(), length - done);
      zeros.clear().limit(n);
      d.write(offset + done, zeros);
      done += n;
    }
  }

  /**
   * Writes {@code [offset, offset + length)} to {@code target}, all of it, as {@link #read} would
   * give it: a server's reply. The default reads through a per-thread buffer; disks whose bytes lie
   * unchanged in a file (a raw file, a VHD's fully present blocks) let the kernel copy them ({@code
   * sendfile}) instead.
   */
  default void transferTo(long offset, long length, WritableByteChannel target) throws IOException {
    checkRange(this, offset, length);
    for (long done = 0; done < length; ) {
      ByteBuffer b = Transfers.buffer(length - done);
      read(offset + done, b);
      b.flip();
      done += b.remaining();
      Transfers.writeFully(target, b);
    }
  }

  /** Makes every write so far durable. */
  void flush() throws IOException;

  /** The runs of {@code [from, to)}, in order, adjacent runs of one kind and layer merged. */
  List<Extent> extents(long from, long to) throws IOException;

  boolean isReadOnly();

  static void checkRange(VirtualDisk d, long offset, long length) {
    if (offset < 0 || length < 0 || offset > d.size() - length) {
      throw new IllegalArgumentException(
          "range " + offset + "+" + length + " outside disk of " + d.size() + " bytes");
    }
  }
}
