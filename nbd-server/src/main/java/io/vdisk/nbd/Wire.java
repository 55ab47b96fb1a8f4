package io.vdisk.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A connection's bytes: whole reads and writes on a blocking channel, big-endian as NBD sends;
 * through TLS once the client asked for it.
 */
final class Wire {
  private volatile ByteChannel ch;

  Wire(ByteChannel ch) {
    this.ch = ch;
  }

  /** From now on, bytes go through TLS ({@code NBD_OPT_STARTTLS}); runs its handshake. */
  void startTls(TlsChannel tls) throws IOException {
    tls.handshake();
    ch = tls;
  }

  /**
   * The socket itself, for a disk to send a reply's data straight from its files ({@code
   * sendfile}), or null once bytes go through TLS, which must see them.
   */
  WritableByteChannel direct() {
    ByteChannel c = ch;
    return c instanceof java.nio.channels.SocketChannel s ? s : null;
  }

  ByteBuffer read(int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    readFully(b);
    return b.flip();
  }

  void readFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("the client closed the connection");
      }
    }
  }

  /** Reads and drops {@code n} bytes in 64 KiB steps (memory stays bounded). */
  void skip(long n) throws IOException {
    ByteBuffer sink = ByteBuffer.allocate(64 << 10);
    for (long left = n; left > 0; ) {
      sink.clear().limit((int) Math.min(sink.capacity(), left));
      readFully(sink);
      left -= sink.limit();
    }
  }

  /** Writes every buffer whole, in order: in one system call where the channel gathers. */
  void writeFully(ByteBuffer... bufs) throws IOException {
    ByteChannel c = ch;
    if (c instanceof GatheringByteChannel g) {
      long left = 0;
      for (ByteBuffer b : bufs) {
        left += b.remaining();
      }
      while (left > 0) {
        left -= g.write(bufs);
      }
      return;
    }
    for (ByteBuffer b : bufs) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
  }

  void close() throws IOException {
    ch.close();
  }
}
