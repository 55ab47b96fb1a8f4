package io.vdisk.engine.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Bytes at absolute offsets, the only way the engine touches a file: no file position, so one
 * storage may be shared by threads. Tests substitute implementations that cut writes at a chosen
 * point to prove crash safety.
 */
public interface Storage extends Closeable {
  /** Reads until {@code dst} is full or end of file; returns bytes read (0 at or past EOF). */
  int read(ByteBuffer dst, long position) throws IOException;

  /** Writes all of {@code src} at {@code position}, growing the file if needed. */
  void write(ByteBuffer src, long position) throws IOException;

  long size() throws IOException;

  void truncate(long size) throws IOException;

  /** Makes every completed write durable (fsync). */
  void force() throws IOException;

  /** A name for messages: the file's path. */
  String name();

  /**
   * The first offset at or after {@code position} that may hold data: past it up to there the file
   * is a hole and reads as zeros. Storage that cannot tell answers {@code position}.
   */
  default long nextData(long position) throws IOException {
    return position;
  }

  /**
   * Writes {@code count} bytes at {@code position} to {@code target}, all of them unless the file
   * ends first; returns how many it wrote. The default reads through a buffer; a file's storage
   * lets the kernel copy them ({@code sendfile}), so a server's reply never passes through Java.
   */
  default long transferTo(long position, long count, WritableByteChannel target)
      throws IOException {
    return Transfers.copy(this, position, count, target);
  }
}
