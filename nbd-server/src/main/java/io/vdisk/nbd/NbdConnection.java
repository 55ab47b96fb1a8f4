package io.vdisk.nbd;

import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.io.ReadOnlyDiskException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Phaser;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * One client: fixed newstyle negotiation on the connection's own thread, then requests read in
 * order and served on the server's pool, replies written as each finishes (out of order, as NBD
 * allows: every reply names its request). Memory per connection is bounded whatever the client
 * announces: options over {@link Nbd#MAX_OPTION} are skipped, requests over {@link Nbd#MAX_PAYLOAD}
 * refused, and requests in flight hold a share of a fixed byte budget.
 */
final class NbdConnection implements Runnable {
  /** Bytes of request payloads in flight per connection, in KiB permits. */
  private static final int BUDGET_KIB = 96 << 10;

  /** Each request in flight holds at least this many permits: at most 6144 queued. */
  private static final int MIN_PERMITS = 16;

  private static final int MAX_OPTIONS = 1000;

  /** Most extents in one block-status reply (8 bytes each); a client asks again for the rest. */
  private static final int MAX_DESCRIPTORS = 1 << 16;

  /** Beyond this many extents a read goes out as one data chunk rather than many small ones. */
  private static final int MAX_READ_CHUNKS = 256;

  private static final int PREFERRED_BLOCK = 4096;

  /** A protocol violation: the connection is closed, with this line logged. */
  static final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
      super(message);
    }
  }

  private final ByteChannel ch;
  private final String peer;
  private final List<NbdExport> exports;
  private final ExecutorService pool;
  private final Consumer<String> log;
  private final Semaphore budget = new Semaphore(BUDGET_KIB);
  private final Phaser inFlight = new Phaser(1);
  private final Object writing = new Object();
  private boolean fixed;
  private boolean noZeroes;
  private boolean structured;
  private boolean allocation;
  private volatile boolean failed;

  NbdConnection(
      ByteChannel ch,
      String peer,
      List<NbdExport> exports,
      ExecutorService pool,
      Consumer<String> log) {
    this.ch = ch;
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
      try {
        e = negotiate();
      } finally {
        deadline.cancel(false);
      }
      if (e != null) {
        transmit(e);
      }
    } catch (EOFException | java.nio.channels.ClosedChannelException gone) {
      // the client went away, or the server is stopping
    } catch (ProtocolException p) {
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

  // ---- negotiation ----------------------------------------------------------------------------

  private NbdExport negotiate() throws IOException {
    ByteBuffer hello = ByteBuffer.allocate(18);
    hello.putLong(Nbd.INIT_MAGIC).putLong(Nbd.OPTS_MAGIC);
    hello.putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
    writeFully(hello);
    int clientFlags = read(4).getInt();
    if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
      throw new ProtocolException("unknown client flags 0x" + Integer.toHexString(clientFlags));
    }
    fixed = (clientFlags & Nbd.FLAG_C_FIXED_NEWSTYLE) != 0;
    noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
    for (int n = 0; n < MAX_OPTIONS; n++) {
      ByteBuffer h = read(16);
      if (h.getLong() != Nbd.OPTS_MAGIC) {
        throw new ProtocolException("bad option magic");
      }
      int opt = h.getInt();
      long len = h.getInt() & 0xffffffffL;
      if (!fixed && opt != Nbd.OPT_EXPORT_NAME) {
        throw new ProtocolException("option " + opt + " from a client without fixed newstyle");
      }
      if (len > Nbd.MAX_OPTION) {
        skip(len);
        optionReply(opt, Nbd.REP_ERR_TOO_BIG, text("option data of " + len + " bytes"));
        continue;
      }
      ByteBuffer data = read((int) len);
      NbdExport chosen = option(opt, data);
      if (chosen != null) {
        return chosen;
      }
      if (opt == Nbd.OPT_ABORT) {
        return null;
      }
    }
    throw new ProtocolException("more than " + MAX_OPTIONS + " options");
  }

  /** Answers one option; returns the export when transmission starts. */
  private NbdExport option(int opt, ByteBuffer data) throws IOException {
    switch (opt) {
      case Nbd.OPT_EXPORT_NAME -> {
        String name = string(data, data.remaining());
        NbdExport e = find(name);
        if (e == null) {
          throw new ProtocolException("no export named '" + printable(name) + "'");
        }
        ByteBuffer b = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
        b.putLong(e.disk().size()).putShort((short) transmissionFlags(e));
        writeFully(b.position(b.capacity()).flip());
        return e;
      }
      case Nbd.OPT_ABORT -> {
        optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
        return null;
      }
      case Nbd.OPT_LIST -> {
        if (data.hasRemaining()) {
          optionReply(opt, Nbd.REP_ERR_INVALID, text("NBD_OPT_LIST takes no data"));
          return null;
        }
        for (NbdExport e : exports) {
          byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
          optionReply(
              opt,
              Nbd.REP_SERVER,
              ByteBuffer.allocate(4 + name.length).putInt(name.length).put(name).flip());
        }
        optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
        return null;
      }
      case Nbd.OPT_INFO, Nbd.OPT_GO -> {
        return infoOrGo(opt, data);
      }
      case Nbd.OPT_STRUCTURED_REPLY -> {
        if (data.hasRemaining()) {
          optionReply(opt, Nbd.REP_ERR_INVALID, text("NBD_OPT_STRUCTURED_REPLY takes no data"));
        } else {
          structured = true;
          optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
        }
        return null;
      }
      case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> {
        metaContext(opt, data);
        return null;
      }
      case Nbd.OPT_STARTTLS -> {
        optionReply(opt, Nbd.REP_ERR_POLICY, text("this server offers no TLS"));
        return null;
      }
      default -> {
        optionReply(opt, Nbd.REP_ERR_UNSUP, text("option " + opt + " is not supported"));
        return null;
      }
    }
  }

  private NbdExport infoOrGo(int opt, ByteBuffer data) throws IOException {
    if (data.remaining() < 6) {
      optionReply(opt, Nbd.REP_ERR_INVALID, text("short NBD_OPT_INFO/GO"));
      return null;
    }
    long nameLen = data.getInt() & 0xffffffffL;
    if (nameLen > data.remaining() - 2 || nameLen > Nbd.MAX_STRING) {
      optionReply(opt, Nbd.REP_ERR_INVALID, text("export name length past the option"));
      return null;
    }
    String name = string(data, (int) nameLen);
    int requests = data.getShort() & 0xffff;
    if (data.remaining() != 2 * requests) {
      optionReply(opt, Nbd.REP_ERR_INVALID, text("information requests do not fill the option"));
      return null;
    }
    boolean wantName = false;
    boolean wantDescription = false;
    for (int i = 0; i < requests; i++) {
      int r = data.getShort() & 0xffff;
      wantName |= r == Nbd.INFO_NAME;
      wantDescription |= r == Nbd.INFO_DESCRIPTION;
    }
    NbdExport e = find(name);
    if (e == null) {
      optionReply(opt, Nbd.REP_ERR_UNKNOWN, text("no export named '" + printable(name) + "'"));
      return null;
    }
    optionReply(
        opt,
        Nbd.REP_INFO,
        ByteBuffer.allocate(12)
            .putShort((short) Nbd.INFO_EXPORT)
            .putLong(e.disk().size())
            .putShort((short) transmissionFlags(e))
            .flip());
    if (wantName) {
      optionReply(opt, Nbd.REP_INFO, info(Nbd.INFO_NAME, e.name()));
    }
    if (wantDescription && !e.description().isEmpty()) {
      optionReply(opt, Nbd.REP_INFO, info(Nbd.INFO_DESCRIPTION, e.description()));
    }
    optionReply(
        opt,
        Nbd.REP_INFO,
        ByteBuffer.allocate(14)
            .putShort((short) Nbd.INFO_BLOCK_SIZE)
            .putInt(1)
            .putInt(PREFERRED_BLOCK)
            .putInt(Nbd.MAX_PAYLOAD)
            .flip());
    optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
    return opt == Nbd.OPT_GO ? e : null;
  }

  private void metaContext(int opt, ByteBuffer data) throws IOException {
    if (!structured) {
      optionReply(opt, Nbd.REP_ERR_INVALID, text("negotiate structured replies first"));
      return;
    }
    List<String> queries = new ArrayList<>();
    String name;
    try {
      long nameLen = data.getInt() & 0xffffffffL;
      if (nameLen > data.remaining() || nameLen > Nbd.MAX_STRING) {
        throw new java.nio.BufferUnderflowException();
      }
      name = string(data, (int) nameLen);
      long count = data.getInt() & 0xffffffffL;
      for (long i = 0; i < count; i++) {
        long qLen = data.getInt() & 0xffffffffL;
        if (qLen > data.remaining() || qLen > Nbd.MAX_STRING) {
          throw new java.nio.BufferUnderflowException();
        }
        queries.add(string(data, (int) qLen));
      }
      if (data.hasRemaining()) {
        throw new java.nio.BufferUnderflowException();
      }
    } catch (java.nio.BufferUnderflowException bad) {
      optionReply(opt, Nbd.REP_ERR_INVALID, text("malformed metadata context request"));
      return;
    }
    if (find(name) == null) {
      optionReply(opt, Nbd.REP_ERR_UNKNOWN, text("no export named '" + printable(name) + "'"));
      return;
    }
    boolean set = opt == Nbd.OPT_SET_META_CONTEXT;
    boolean match =
        queries.stream()
            .anyMatch(
                q ->
                    q.equals(Nbd.BASE_ALLOCATION)
                        || (!set && (q.equals("base:") || q.equals("base:*"))));
    if (!set && queries.isEmpty()) {
      match = true;
    }
    if (set) {
      allocation = match;
    }
    if (match) {
      byte[] n = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
      optionReply(
          opt,
          Nbd.REP_META_CONTEXT,
          ByteBuffer.allocate(4 + n.length).putInt(Nbd.ALLOCATION_CONTEXT_ID).put(n).flip());
    }
    optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
  }

  private static int transmissionFlags(NbdExport e) {
    int f = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_DF | Nbd.FLAG_CAN_MULTI_CONN;
    if (e.readOnly()) {
      f |= Nbd.FLAG_READ_ONLY;
    } else {
      f |= Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES;
    }
    return f;
  }

  private NbdExport find(String name) {
    if (name.isEmpty()) {
      return exports.get(0);
    }
    for (NbdExport e : exports) {
      if (e.names().contains(name)) {
        return e;
      }
    }
    return null;
  }

  private void optionReply(int opt, int type, ByteBuffer data) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(20);
    h.putLong(Nbd.REP_MAGIC).putInt(opt).putInt(type).putInt(data.remaining()).flip();
    writeFully(h, data);
  }

  private static ByteBuffer info(int type, String value) {
    byte[] b = value.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(b.length, Nbd.MAX_STRING);
    return ByteBuffer.allocate(2 + n).putShort((short) type).put(b, 0, n).flip();
  }

  private static ByteBuffer text(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String string(ByteBuffer b, int len) {
    byte[] s = new byte[len];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  private static String printable(String s) {
    return io.vdisk.engine.io.Printable.of(s.length() > 200 ? s.substring(0, 200) + "..." : s);
  }

  // ---- transmission ---------------------------------------------------------------------------

  /** One request as read off the wire. */
  private record Request(int flags, int type, long handle, long offset, long length) {}

  private void transmit(NbdExport e) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(28);
    while (!failed) {
      h.clear();
      readFully(h);
      h.flip();
      if (h.getInt() != Nbd.REQUEST_MAGIC) {
        throw new ProtocolException("bad request magic");
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
          skip(r.length());
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
          readFully(payload);
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
      boolean ranged = writes || r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_BLOCK_STATUS;
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
          d.write(r.offset(), payload);
          durable(d, r);
          reply(r, 0, null);
        }
        case Nbd.CMD_FLUSH -> {
          d.flush();
          reply(r, 0, null);
        }
        case Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> {
          if ((r.flags() & Nbd.CMD_FLAG_NO_HOLE) != 0) {
            writeRealZeros(d, r.offset(), r.length());
          } else {
            d.writeZeros(r.offset(), r.length());
          }
          durable(d, r);
          reply(r, 0, null);
        }
        case Nbd.CMD_BLOCK_STATUS -> blockStatus(d, r);
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

  private static void durable(VirtualDisk d, Request r) throws IOException {
    if ((r.flags() & Nbd.CMD_FLAG_FUA) != 0) {
      d.flush();
    }
  }

  private static void writeRealZeros(VirtualDisk d, long offset, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(zeros.capacity(), length - done);
      zeros.clear().limit(n);
      d.write(offset + done, zeros);
      done += n;
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

  private void read(VirtualDisk d, Request r) throws IOException {
    ByteBuffer data = readBuffer((int) r.length());
    if (!structured) {
      d.read(r.offset(), data);
      data.flip();
      reply(r, 0, data);
      return;
    }
    List<Extent> runs =
        (r.flags() & Nbd.CMD_FLAG_DF) != 0 || r.length() == 0
            ? List.of()
            : d.extents(r.offset(), r.offset() + r.length());
    if (runs.isEmpty() || runs.size() > MAX_READ_CHUNKS) {
      d.read(r.offset(), data);
      data.flip();
      chunks(r, List.of(new Chunk(Nbd.REPLY_TYPE_OFFSET_DATA, r.offset(), data)));
      return;
    }
    List<Chunk> out = new ArrayList<>();
    for (Extent x : runs) {
      if (x.kind() == Extent.Kind.ZERO) {
        out.add(Chunk.hole(x.offset(), x.length()));
      } else {
        int at = (int) (x.offset() - r.offset());
        ByteBuffer slice = data.duplicate().position(at).limit(at + (int) x.length()).slice();
        d.read(x.offset(), slice.duplicate());
        out.add(new Chunk(Nbd.REPLY_TYPE_OFFSET_DATA, x.offset(), slice));
      }
    }
    chunks(r, out);
  }

  /** A structured reply chunk: data at an offset, or a hole (its length in {@code holeSize}). */
  private record Chunk(int type, long offset, ByteBuffer data, long holeSize) {
    Chunk(int type, long offset, ByteBuffer data) {
      this(type, offset, data, 0);
    }

    static Chunk hole(long offset, long size) {
      return new Chunk(Nbd.REPLY_TYPE_OFFSET_HOLE, offset, null, size);
    }
  }

  private void chunks(Request r, List<Chunk> chunks) throws IOException {
    synchronized (writing) {
      for (int i = 0; i < chunks.size(); i++) {
        Chunk c = chunks.get(i);
        int flags = i == chunks.size() - 1 ? Nbd.REPLY_FLAG_DONE : 0;
        if (c.type() == Nbd.REPLY_TYPE_OFFSET_HOLE) {
          ByteBuffer p = ByteBuffer.allocate(12).putLong(c.offset()).putInt((int) c.holeSize());
          writeFully(chunkHeader(r, flags, c.type(), 12), p.flip());
        } else {
          ByteBuffer p = ByteBuffer.allocate(8).putLong(c.offset()).flip();
          writeFully(chunkHeader(r, flags, c.type(), 8 + c.data().remaining()), p, c.data());
        }
      }
    }
  }

  private void blockStatus(VirtualDisk d, Request r) throws IOException {
    if (!structured || !allocation) {
      reply(r, Nbd.EINVAL, "block status needs structured replies and base:allocation");
      return;
    }
    List<Extent> runs =
        r.length() == 0 ? List.of() : d.extents(r.offset(), r.offset() + r.length());
    boolean one = (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0;
    int n = Math.max(1, Math.min(one ? 1 : MAX_DESCRIPTORS, runs.size()));
    ByteBuffer p = ByteBuffer.allocate(4 + 8 * n).putInt(Nbd.ALLOCATION_CONTEXT_ID);
    if (runs.isEmpty()) {
      p.putInt((int) r.length()).putInt(0);
    }
    for (int i = 0; i < runs.size() && i < n; i++) {
      Extent x = runs.get(i);
      p.putInt((int) x.length());
      p.putInt(x.kind() == Extent.Kind.ZERO ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0);
    }
    p.flip();
    synchronized (writing) {
      writeFully(
          chunkHeader(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, p.remaining()), p);
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
        writeFully(chunkHeader(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, 6 + n), p.flip());
        return;
      }
      ByteBuffer h = ByteBuffer.allocate(16);
      h.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(r.handle()).flip();
      if (error == 0 && dataOrMessage instanceof ByteBuffer data) {
        writeFully(h, data);
      } else {
        writeFully(h);
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

  // ---- bytes ----------------------------------------------------------------------------------

  private ByteBuffer read(int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    readFully(b);
    return b.flip();
  }

  private void readFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("the client closed the connection");
      }
    }
  }

  private void skip(long n) throws IOException {
    ByteBuffer sink = ByteBuffer.allocate(64 << 10);
    for (long left = n; left > 0; ) {
      sink.clear().limit((int) Math.min(sink.capacity(), left));
      readFully(sink);
      left -= sink.limit();
    }
  }

  private void writeFully(ByteBuffer... bufs) throws IOException {
    for (ByteBuffer b : bufs) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
  }
}
