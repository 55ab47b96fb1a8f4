package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Bytes moved to a channel through one reused direct buffer per thread: the way a transfer goes
 * when the kernel cannot copy it (a storage that is no file, bytes assembled from several layers,
 * zeros).
 */
public final class Transfers {
  /** The most one {@link #buffer} holds. */
  public static final int BUFFER_SIZE = 1 << 20;

  private static final ThreadLocal<ByteBuffer> BUFFERS =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(BUFFER_SIZE));

  private Transfers() {}

  /** This thread's buffer, cleared, at most {@code length} long (up to 1 MiB). */
  public static ByteBuffer buffer(long length) {
    return BUFFERS.get().clear().limit((int) Math.min(BUFFER_SIZE, length));
  }

  /** Writes all of {@code src} to {@code target}. */
  public static void writeFully(WritableByteChannel target, ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      target.write(src);
    }
  }

  /** Writes {@code length} zero bytes to {@code target}. */
  public static void zeros(long length, WritableByteChannel target) throws IOException {
    for (long left = length; left > 0; ) {
      ByteBuffer b = buffer(left);
      Zeros.fill(b);
      b.flip();
      left -= b.remaining();
      writeFully(target, b);
    }
  }

  /** {@link Storage#transferTo} through a buffer; stops early only where the storage ends. */
  static long copy(Storage s, long position, long count, WritableByteChannel target)
      throws IOException {
    long done = 0;
    while (done < count) {
      ByteBuffer b = buffer(count - done);
      int want = b.remaining();
      int n = s.read(b, position + done);
      b.flip();
      writeFully(target, b);
      done += n;
      if (n < want) {
        break; // the storage ended
      }
    }
    return done;
  }
}
