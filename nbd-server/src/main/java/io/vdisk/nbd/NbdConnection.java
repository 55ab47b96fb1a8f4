package io.vdisk.nbd;

import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.io.ReadOnlyDiskException;
import io.vdisk.engine.io.Transfers;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Phaser;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * One client: negotiation ({@link NbdHandshake}) on the connection's own thread, then requests read
 * in order and served on the server's pool, replies written as each finishes (out of order, as NBD
 * allows: every reply names its request). Memory per connection is bounded whatever the client
 * announces: options over {@link Nbd#MAX_OPTION} are skipped, requests over {@link Nbd#MAX_PAYLOAD}
 * refused, and requests in flight hold a share of a fixed byte budget.
 */
final class NbdConnection implements Runnable {
  /** Bytes of request payloads in flight per connection, in KiB permits. */
  private static final int BUDGET_KIB = 96 << 10;

  /** Each request in flight holds at least this many permits: at most 6144 queued. */
  private static final int MIN_PERMITS = 16;

  /** Most extents in one block-status reply (8 bytes each); a client asks again for the rest. */
  private static final int MAX_DESCRIPTORS = 1 << 16;

  /** Beyond this many extents a read goes out as one data chunk rather than many small ones. */
  private static final int MAX_READ_CHUNKS = 256;

  private final ByteChannel ch;
  private final Wire wire;
  private final String peer;
  private final List<NbdExport> exports;
  private final ExecutorService pool;
  private final Consumer<String> log;
  private final Semaphore budget = new Semaphore(BUDGET_KIB);
  private final Phaser inFlight = new Phaser(1);
  private final Object writing = new Object();
  private boolean structured;
  private List<String> contexts = List.of();
  private volatile boolean failed;

  private final TlsCredentials tls;

  NbdConnection(
      ByteChannel ch,
      String peer,
      List<NbdExport> exports,
      TlsCredentials tls,
      ExecutorService pool,
      Consumer<String> log) {
    this.ch = ch;
    this.tls = tls;
    this.wire = new Wire(ch);
    this.peer = peer;
    this.exports = exports;
    this.pool = pool;
    this.log = log;
  }

  /** A client that has not chosen an export by then is disconnected: it holds a slot. */
  static volatile long negotiationMillis = 30_000;

  private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "nbd-negotiation-watchdog");
            t.setDaemon(true);
            return t;
          });

  @Override
  public void run() {
    java.util.concurrent.ScheduledFuture<?> deadline =
        WATCHDOG.schedule(
            () -> {
              log.accept(peer + ": no export chosen in " + negotiationMillis + " ms");
              try {
                ch.close();
              } catch (IOException ignored) {
                // closing
              }
            },
            negotiationMillis,
            java.util.concurrent.TimeUnit.MILLISECONDS);
    try {
      NbdExport e;
      NbdHandshake h = new NbdHandshake(wire, exports, tls, ch);
      try {
        e = h.negotiate();
      } finally {
        deadline.cancel(false);
      }
      structured = h.structured();
      contexts = h.contexts();
      if (e != null) {
        transmit(e);
      }
    } catch (EOFException | java.nio.channels.ClosedChannelException gone) {
      // the client went away, or the server is stopping
    } catch (NbdHandshake.ProtocolException p) {
      log.accept(peer + ": " + p.getMessage() + "; connection closed");
    } catch (IOException | RuntimeException e) {
      log.accept(peer + ": " + e.getMessage() + "; connection closed");
    } finally {
      inFlight.arriveAndAwaitAdvance(); // no reply is written into a closed channel
      try {
        ch.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  // ---- transmission ---------------------------------------------------------------------------

  /** One request as read off the wire. */
  private record Request(int flags, int type, long handle, long offset, long length) {}

  private void transmit(NbdExport e) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(28);
    while (!failed) {
      h.clear();
      wire.readFully(h);
      h.flip();
      if (h.getInt() != Nbd.REQUEST_MAGIC) {
        throw new NbdHandshake.ProtocolException("bad request magic");
      }
      Request r =
          new Request(
              h.getShort() & 0xffff,
              h.getShort() & 0xffff,
              h.getLong(),
              h.getLong(),
              h.getInt() & 0xffffffffL);
      if (r.type() == Nbd.CMD_DISC) {
        return;
      }
      boolean carriesData = r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_READ;
      if (carriesData && r.length() > Nbd.MAX_PAYLOAD) {
        if (r.type() == Nbd.CMD_WRITE) {
          wire.skip(r.length());
        }
        reply(r, Nbd.EOVERFLOW, "request of " + r.length() + " bytes; at most " + Nbd.MAX_PAYLOAD);
        continue;
      }
      int permits = Math.max(MIN_PERMITS, (int) (((carriesData ? r.length() : 0) + 1023) >> 10));
      try {
        budget.acquire(permits);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("stopping");
      }
      ByteBuffer payload = null;
      try {
        if (r.type() == Nbd.CMD_WRITE) {
          payload = ByteBuffer.allocate((int) r.length());
          wire.readFully(payload);
          payload.flip();
        }
        ByteBuffer p = payload;
        inFlight.register();
        pool.execute(
            () -> {
              try {
                serve(e, r, p);
              } finally {
                budget.release(permits);
                inFlight.arriveAndDeregister();
              }
            });
      } catch (RejectedExecutionException stopping) {
        budget.release(permits);
        inFlight.arriveAndDeregister();
        return;
      } catch (IOException | RuntimeException io) {
        budget.release(permits);
        throw io;
      }
    }
  }

  /** Serves one request on a pool thread and writes its reply. */
  private void serve(NbdExport e, Request r, ByteBuffer payload) {
    VirtualDisk d = e.disk();
    try {
      boolean writes =
          r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_TRIM || r.type() == Nbd.CMD_WRITE_ZEROES;
      boolean ranged =
          writes
              || r.type() == Nbd.CMD_READ
              || r.type() == Nbd.CMD_BLOCK_STATUS
              || r.type() == Nbd.CMD_CACHE;
      if (writes && e.readOnly()) {
        reply(r, Nbd.EPERM, "read-only export");
        return;
      }
      if (ranged && (r.offset() < 0 || r.offset() > d.size() - r.length())) {
        reply(r, writes ? Nbd.ENOSPC : Nbd.EINVAL, "range past the end of the export");
        return;
      }
      switch (r.type()) {
        case Nbd.CMD_READ -> read(d, r);
        case Nbd.CMD_WRITE -> {
          e.written(r.offset(), r.length());
          d.write(r.offset(), payload);
          durable(d, r);
          reply(r, 0, null);
        }
        case Nbd.CMD_FLUSH -> {
          d.flush();
          reply(r, 0, null);
        }
        case Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> {
          e.written(r.offset(), r.length());
          if ((r.flags() & Nbd.CMD_FLAG_NO_HOLE) != 0) {
            VirtualDisk.writeZeroBuffers(d, r.offset(), r.length());
          } else {
            d.writeZeros(r.offset(), r.length());
          }
          durable(d, r);
          reply(r, 0, null);
        }
        case Nbd.CMD_BLOCK_STATUS -> blockStatus(e, r);
        case Nbd.CMD_CACHE -> {
          cache(d, r.offset(), r.length());
          reply(r, 0, null);
        }
        default -> reply(r, Nbd.EINVAL, "unknown command " + r.type());
      }
    } catch (ReadOnlyDiskException ro) {
      replyQuietly(r, Nbd.EPERM, ro.getMessage());
    } catch (IllegalArgumentException bad) {
      replyQuietly(r, Nbd.EINVAL, bad.getMessage());
    } catch (IOException io) {
      String m = String.valueOf(io.getMessage());
      log.accept(peer + ": " + m);
      replyQuietly(r, m.contains("No space left") ? Nbd.ENOSPC : Nbd.EIO, m);
    } catch (RuntimeException bug) {
      log.accept(peer + ": " + bug);
      replyQuietly(r, Nbd.EIO, "internal error");
    }
  }

  /**
   * {@code NBD_CMD_CACHE}: reads the range's data (not its holes) so that the reads the client
   * announces find it in the page cache; the bytes go nowhere, through this thread's buffer.
   */
  private static void cache(VirtualDisk d, long offset, long length) throws IOException {
    if (length == 0) {
      return;
    }
    for (Extent x : d.extents(offset, offset + length)) {
      if (x.kind() == Extent.Kind.ZERO) {
        continue;
      }
      for (long done = 0; done < x.length(); ) {
        ByteBuffer b = Transfers.buffer(x.length() - done);
        d.read(x.offset() + done, b);
        done += b.limit();
      }
    }
  }

  private static void durable(VirtualDisk d, Request r) throws IOException {
    if ((r.flags() & Nbd.CMD_FLAG_FUA) != 0) {
      d.flush();
    }
  }

  /** Largest read served from a pool thread's reused direct buffer; bigger ones allocate. */
  private static final int REUSED = 4 << 20;

  /**
   * Each pool thread's read buffer, direct so that the disk's and the socket's channels copy
   * nothing through a temporary one; safe to reuse because the reply is written before the next
   * request runs on that thread.
   */
  private static final ThreadLocal<ByteBuffer> READ_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(REUSED));

  private static ByteBuffer readBuffer(int length) {
    return length <= REUSED ? READ_BUFFER.get().clear().limit(length) : ByteBuffer.allocate(length);
  }

  /**
   * A read's reply. On a plain socket the disk sends the data itself ({@link
   * VirtualDisk#transferTo}: the kernel copies whole blocks from the image's file to the socket);
   * through TLS, or when the data would come from several layers, it is read into this thread's
   * buffer first. Under structured replies, zero runs go out as holes.
   */
  private void read(VirtualDisk d, Request r) throws IOException {
    WritableByteChannel direct = wire.direct();
    if (!structured) {
      if (direct != null) {
        send(r, d, List.of(Chunk.data(r.offset(), r.length())), direct);
        return;
      }
      ByteBuffer data = readBuffer((int) r.length());
      d.read(r.offset(), data);
      reply(r, 0, data.flip());
      return;
    }
    List<Extent> runs =
        (r.flags() & Nbd.CMD_FLAG_DF) != 0 || r.length() == 0
            ? List.of()
            : d.extents(r.offset(), r.offset() + r.length());
    List<Chunk> out = new ArrayList<>();
    if (runs.isEmpty() || runs.size() > MAX_READ_CHUNKS) {
      out.add(Chunk.data(r.offset(), r.length()));
    } else {
      for (Extent x : runs) {
        out.add(
            x.kind() == Extent.Kind.ZERO
                ? Chunk.hole(x.offset(), x.length())
                : Chunk.data(x.offset(), x.length()));
      }
    }
    if (direct == null) {
      ByteBuffer data = readBuffer((int) r.length());
      for (int i = 0; i < out.size(); i++) {
        Chunk c = out.get(i);
        if (c.type() == Nbd.REPLY_TYPE_OFFSET_DATA) {
          int at = (int) (c.offset() - r.offset());
          ByteBuffer slice = data.slice(at, (int) c.length());
          d.read(c.offset(), slice.duplicate());
          out.set(i, new Chunk(c.type(), c.offset(), c.length(), slice));
        }
      }
    }
    send(r, d, out, direct);
  }

  /**
   * A read reply's parts: data at an offset (bytes read into {@code data}, or, when that is null,
   * to be sent by the disk), or a hole.
   */
  private record Chunk(int type, long offset, long length, ByteBuffer data) {
    static Chunk data(long offset, long length) {
      return new Chunk(Nbd.REPLY_TYPE_OFFSET_DATA, offset, length, null);
    }

    static Chunk hole(long offset, long length) {
      return new Chunk(Nbd.REPLY_TYPE_OFFSET_HOLE, offset, length, null);
    }
  }

  /**
   * Writes a read's reply: a simple reply's header and data, or one structured chunk per part, the
   * last flagged done. Once a header is out, the data must follow whole: if the disk fails midway
   * the client could not tell where the next reply starts, so the connection ends.
   */
  private void send(Request r, VirtualDisk d, List<Chunk> chunks, WritableByteChannel direct)
      throws IOException {
    synchronized (writing) {
      for (int i = 0; i < chunks.size(); i++) {
        Chunk c = chunks.get(i);
        if (!structured) {
          wire.writeFully(
              ByteBuffer.allocate(16)
                  .putInt(Nbd.SIMPLE_REPLY_MAGIC)
                  .putInt(0)
                  .putLong(r.handle())
                  .flip());
        } else if (c.type() == Nbd.REPLY_TYPE_OFFSET_HOLE) {
          ByteBuffer p = ByteBuffer.allocate(12).putLong(c.offset()).putInt((int) c.length());
          wire.writeFully(chunkHeader(r, done(i, chunks), c.type(), 12), p.flip());
          continue;
        } else {
          ByteBuffer p = ByteBuffer.allocate(8).putLong(c.offset()).flip();
          wire.writeFully(chunkHeader(r, done(i, chunks), c.type(), 8 + (int) c.length()), p);
        }
        if (c.data() != null) {
          wire.writeFully(c.data());
          continue;
        }
        try {
          d.transferTo(c.offset(), c.length(), direct);
        } catch (IOException | RuntimeException e) {
          failed = true;
          ch.close();
          throw e;
        }
      }
    }
  }

  private static int done(int i, List<Chunk> chunks) {
    return i == chunks.size() - 1 ? Nbd.REPLY_FLAG_DONE : 0;
  }

  /** One {@code BLOCK_STATUS} chunk per chosen context, the last one flagged done. */
  private void blockStatus(NbdExport e, Request r) throws IOException {
    if (!structured || contexts.isEmpty()) {
      reply(r, Nbd.EINVAL, "block status needs structured replies and a metadata context");
      return;
    }
    boolean one = (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0;
    int max = one ? 1 : MAX_DESCRIPTORS;
    List<ByteBuffer> replies = new ArrayList<>();
    for (int id = 1; id <= contexts.size(); id++) {
      String c = contexts.get(id - 1);
      List<long[]> runs = new ArrayList<>();
      if (r.length() == 0) {
        runs.add(new long[] {0, 0});
      } else if (c.equals(Nbd.BASE_ALLOCATION)) {
        for (Extent x : e.disk().extents(r.offset(), r.offset() + r.length())) {
          if (runs.size() == max) {
            break;
          }
          runs.add(
              new long[] {
                x.length(), x.kind() == Extent.Kind.ZERO ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0
              });
        }
      } else {
        String bitmap = c.substring(NbdExport.DIRTY_BITMAP.length());
        runs = e.dirtyRuns(bitmap, r.offset(), r.offset() + r.length(), max);
      }
      ByteBuffer p = ByteBuffer.allocate(4 + 8 * runs.size()).putInt(id);
      for (long[] run : runs) {
        p.putInt((int) (run[0] == 0 ? r.length() : run[0])).putInt((int) run[1]);
      }
      replies.add(p.flip());
    }
    synchronized (writing) {
      for (int i = 0; i < replies.size(); i++) {
        ByteBuffer p = replies.get(i);
        int flags = i == replies.size() - 1 ? Nbd.REPLY_FLAG_DONE : 0;
        wire.writeFully(chunkHeader(r, flags, Nbd.REPLY_TYPE_BLOCK_STATUS, p.remaining()), p);
      }
    }
  }

  private static ByteBuffer chunkHeader(Request r, int flags, int type, int length) {
    return ByteBuffer.allocate(20)
        .putInt(Nbd.STRUCTURED_REPLY_MAGIC)
        .putShort((short) flags)
        .putShort((short) type)
        .putLong(r.handle())
        .putInt(length)
        .flip();
  }

  /**
   * A reply without chunks: a simple reply (with {@code data} for a read), or, for a read or block
   * status under structured replies, an error chunk. A failed read under simple replies cannot say
   * how much data follows, so the connection ends after it.
   */
  private void reply(Request r, int error, Object dataOrMessage) throws IOException {
    boolean chunked = structured && (r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_BLOCK_STATUS);
    synchronized (writing) {
      if (chunked && error != 0) {
        byte[] m = String.valueOf(dataOrMessage).getBytes(StandardCharsets.UTF_8);
        int n = Math.min(m.length, Nbd.MAX_STRING);
        ByteBuffer p = ByteBuffer.allocate(6 + n).putInt(error).putShort((short) n).put(m, 0, n);
        wire.writeFully(chunkHeader(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, 6 + n), p.flip());
        return;
      }
      ByteBuffer h = ByteBuffer.allocate(16);
      h.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(r.handle()).flip();
      if (error == 0 && dataOrMessage instanceof ByteBuffer data) {
        wire.writeFully(h, data);
      } else {
        wire.writeFully(h);
      }
      if (error != 0 && r.type() == Nbd.CMD_READ) {
        failed = true;
        ch.close();
      }
    }
  }

  private void replyQuietly(Request r, int error, String message) {
    try {
      reply(r, error, message);
    } catch (IOException gone) {
      failed = true;
    }
  }
}
