package io.vdisk.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * TLS over a blocking channel (TCP or a Unix socket), server side, after {@code NBD_OPT_STARTTLS}:
 * the JDK's {@link SSLEngine} between the connection's reads (one thread) and its replies (pool
 * threads, already serialised by the connection), which may run at once as {@code SSLEngine}
 * allows.
 */
final class TlsChannel implements ByteChannel {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  private final ByteChannel net;
  private final SSLEngine engine;
  private final ByteBuffer netIn;
  private final ByteBuffer netOut;
  private ByteBuffer appIn;
  private final Object reading = new Object();
  private final Object writing = new Object();

  TlsChannel(ByteChannel net, SSLEngine engine) {
    this.net = net;
    this.engine = engine;
    int packet = engine.getSession().getPacketBufferSize();
    this.netIn = ByteBuffer.allocate(packet);
    this.netOut = ByteBuffer.allocate(packet);
    this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize()).flip();
  }

  /** Runs the handshake to its end (the client speaks first). */
  void handshake() throws IOException {
    engine.beginHandshake();
    HandshakeStatus hs = engine.getHandshakeStatus();
    while (hs != HandshakeStatus.FINISHED && hs != HandshakeStatus.NOT_HANDSHAKING) {
      switch (hs) {
        case NEED_WRAP -> hs = wrap(EMPTY);
        case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> hs = unwrap();
        case NEED_TASK -> hs = tasks();
        default -> throw new SSLException("unexpected handshake state " + hs);
      }
    }
  }

  private HandshakeStatus tasks() {
    Runnable t;
    while ((t = engine.getDelegatedTask()) != null) {
      t.run();
    }
    return engine.getHandshakeStatus();
  }

  /** Wraps {@code src} (all of it, or a handshake message) and sends the records. */
  private HandshakeStatus wrap(ByteBuffer src) throws IOException {
    synchronized (writing) {
      HandshakeStatus hs;
      do {
        netOut.clear();
        SSLEngineResult r = engine.wrap(src, netOut);
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
          throw new EOFException("TLS session closed");
        }
        netOut.flip();
        while (netOut.hasRemaining()) {
          net.write(netOut);
        }
        hs = r.getHandshakeStatus();
        if (hs == HandshakeStatus.NEED_TASK) {
          hs = tasks();
        }
      } while (src.hasRemaining());
      return hs;
    }
  }

  /** Decrypts at least one record into {@code appIn}, reading from the network as needed. */
  private HandshakeStatus unwrap() throws IOException {
    while (true) {
      ByteBuffer out = appIn.compact();
      SSLEngineResult r;
      netIn.flip();
      try {
        r = engine.unwrap(netIn, out);
      } finally {
        netIn.compact();
        out.flip();
      }
      switch (r.getStatus()) {
        case OK -> {
          HandshakeStatus hs = r.getHandshakeStatus();
          return hs == HandshakeStatus.NEED_TASK ? tasks() : hs;
        }
        case BUFFER_UNDERFLOW -> {
          if (net.read(netIn) < 0) {
            throw new EOFException("the client closed the connection");
          }
        }
        case BUFFER_OVERFLOW -> {
          ByteBuffer bigger = ByteBuffer.allocate(appIn.capacity() * 2);
          bigger.put(appIn).flip();
          appIn = bigger;
        }
        case CLOSED -> throw new EOFException("the client closed the TLS session");
        default -> throw new SSLException("unexpected unwrap status " + r.getStatus());
      }
    }
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    synchronized (reading) {
      while (!appIn.hasRemaining()) {
        HandshakeStatus hs = unwrap();
        while (hs == HandshakeStatus.NEED_WRAP) {
          hs = wrap(EMPTY); // a post-handshake message (TLS 1.3 key update)
        }
      }
      int n = Math.min(dst.remaining(), appIn.remaining());
      ByteBuffer slice = appIn.slice(appIn.position(), n);
      dst.put(slice);
      appIn.position(appIn.position() + n);
      return n;
    }
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    int n = src.remaining();
    wrap(src);
    return n;
  }

  @Override
  public boolean isOpen() {
    return net.isOpen();
  }

  @Override
  public void close() throws IOException {
    try {
      engine.closeOutbound();
    } finally {
      net.close();
    }
  }
}
