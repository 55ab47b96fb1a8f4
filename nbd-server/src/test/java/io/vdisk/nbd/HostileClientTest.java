package io.vdisk.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.Disks;
import io.vdisk.engine.VirtualDisk;
import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small client that breaks the protocol on purpose: each bad option or request gets the
 * protocol's error or a closed connection, never a wrong byte, and the server serves the next
 * client as before.
 */
@org.junit.jupiter.api.Timeout(60)
class HostileClientTest {
  @TempDir Path dir;
  private NbdServer server;
  private Thread serving;
  private VirtualDisk rw;
  private VirtualDisk ro;
  private final List<String> logged = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    Path a = dir.resolve("a.raw");
    Path b = dir.resolve("b.raw");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(a.toFile(), "rw")) {
      f.setLength(1 << 20); // sparse: one written page at 4096, holes elsewhere
      f.seek(4096);
      f.write(new byte[] {1, 2, 3, 4});
    }
    Files.copy(a, b);
    rw = Disks.open(a, Disks.Format.RAW, false);
    ro = Disks.open(b, Disks.Format.RAW, true);
    server =
        NbdServer.open(
            "unix:" + dir.resolve("s.sock"),
            List.of(
                new NbdExport(List.of("rw"), "", rw, false),
                new NbdExport(List.of("ro"), "", ro, true)),
            m -> {
              synchronized (logged) {
                logged.add(m);
              }
            });
    serving =
        new Thread(
            () -> {
              try {
                server.serve();
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    serving.start();
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    serving.join(10_000);
    rw.close();
    ro.close();
  }

  /** A connection that has done the handshake; helpers write and read big-endian fields. */
  private final class Client implements AutoCloseable {
    final SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("s.sock")));

    Client() throws IOException {
      ByteBuffer hello = read(18);
      assertThat(hello.getLong()).isEqualTo(Nbd.INIT_MAGIC);
      assertThat(hello.getLong()).isEqualTo(Nbd.OPTS_MAGIC);
      write(ByteBuffer.allocate(4).putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES).flip());
    }

    void option(int opt, ByteBuffer data) throws IOException {
      write(
          ByteBuffer.allocate(16)
              .putLong(Nbd.OPTS_MAGIC)
              .putInt(opt)
              .putInt(data.remaining())
              .flip());
      write(data);
    }

    /** One option reply: its type, and its data. */
    int reply(int opt, List<ByteBuffer> data) throws IOException {
      ByteBuffer h = read(20);
      assertThat(h.getLong()).isEqualTo(Nbd.REP_MAGIC);
      assertThat(h.getInt()).isEqualTo(opt);
      int type = h.getInt();
      data.add(read(h.getInt()));
      return type;
    }

    /** Structured replies, then {@code NBD_OPT_GO}; returns the export's transmission flags. */
    int go(String name) throws IOException {
      option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
      assertThat(reply(Nbd.OPT_STRUCTURED_REPLY, new ArrayList<>())).isEqualTo(Nbd.REP_ACK);
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      option(
          Nbd.OPT_GO,
          ByteBuffer.allocate(6 + n.length).putInt(n.length).put(n).putShort((short) 0).flip());
      int t;
      int flags = -1;
      do {
        List<ByteBuffer> info = new ArrayList<>();
        t = reply(Nbd.OPT_GO, info);
        ByteBuffer i = info.get(0);
        if (t == Nbd.REP_INFO && i.getShort() == Nbd.INFO_EXPORT) {
          i.getLong(); // size
          flags = i.getShort() & 0xffff;
        }
      } while (t == Nbd.REP_INFO);
      assertThat(t).isEqualTo(Nbd.REP_ACK);
      return flags;
    }

    void request(int flags, int type, long handle, long offset, long length) throws IOException {
      write(
          ByteBuffer.allocate(28)
              .putInt(Nbd.REQUEST_MAGIC)
              .putShort((short) flags)
              .putShort((short) type)
              .putLong(handle)
              .putLong(offset)
              .putInt((int) length)
              .flip());
    }

    /** The error of a simple reply, checking its handle. */
    int simpleError(long handle) throws IOException {
      ByteBuffer r = read(16);
      assertThat(r.getInt()).isEqualTo(Nbd.SIMPLE_REPLY_MAGIC);
      int error = r.getInt();
      assertThat(r.getLong()).isEqualTo(handle);
      return error;
    }

    /** A structured chunk: {flags, type, payload}. */
    Object[] chunk(long handle) throws IOException {
      ByteBuffer h = read(20);
      assertThat(h.getInt()).isEqualTo(Nbd.STRUCTURED_REPLY_MAGIC);
      int flags = h.getShort() & 0xffff;
      int type = h.getShort() & 0xffff;
      assertThat(h.getLong()).isEqualTo(handle);
      return new Object[] {flags, type, read(h.getInt())};
    }

    void write(ByteBuffer b) throws IOException {
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }

    ByteBuffer read(int n) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(n);
      while (b.hasRemaining()) {
        if (ch.read(b) < 0) {
          throw new EOFException();
        }
      }
      return b.flip();
    }

    boolean closedByServer() {
      try {
        return ch.read(ByteBuffer.allocate(1)) < 0;
      } catch (IOException e) {
        return true;
      }
    }

    @Override
    public void close() throws IOException {
      ch.close();
    }
  }

  /** The server still answers: a fresh client reads the four bytes written at 4096. */
  private void stillServes() throws IOException {
    try (Client c = new Client()) {
      c.go("rw");
      c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 9, 4096, 4);
      Object[] ch = c.chunk(9);
      assertThat(ch[1]).isEqualTo(Nbd.REPLY_TYPE_OFFSET_DATA);
      ByteBuffer p = (ByteBuffer) ch[2];
      assertThat(p.getLong()).isEqualTo(4096);
      assertThat(new byte[] {p.get(), p.get(), p.get(), p.get()}).containsExactly(1, 2, 3, 4);
    }
  }

  @Test
  void badMagicsUnknownFlagsAndOptionFloodsCloseTheConnectionAndNothingElse() throws Exception {
    try (Client c = new Client()) {
      c.write(ByteBuffer.allocate(16).putLong(0x1234).putInt(1).putInt(0).flip());
      assertThat(c.closedByServer()).isTrue();
    }
    try (SocketChannel raw =
        SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("s.sock")))) {
      raw.read(ByteBuffer.allocate(18));
      raw.write(ByteBuffer.allocate(4).putInt(0xff00).flip());
      assertThat(raw.read(ByteBuffer.allocate(1))).isLessThan(0);
    }
    try (Client c = new Client()) {
      c.go("rw");
      // a whole request header with a bad magic
      c.write(ByteBuffer.allocate(28).putInt(0xdeadbeef).position(28).flip());
      assertThat(c.closedByServer()).isTrue();
    }
    stillServes();
    synchronized (logged) {
      assertThat(logged).anyMatch(l -> l.contains("bad option magic"));
      assertThat(logged).anyMatch(l -> l.contains("unknown client flags"));
      assertThat(logged).anyMatch(l -> l.contains("bad request magic"));
    }
  }

  @Test
  void aClientThatNeverChoosesAnExportIsDisconnected() throws Exception {
    long was = NbdConnection.negotiationMillis;
    NbdConnection.negotiationMillis = 300;
    try (Client idle = new Client()) {
      long t0 = System.nanoTime();
      assertThat(idle.closedByServer()).isTrue();
      assertThat(System.nanoTime() - t0).isGreaterThan(200_000_000L);
    } finally {
      NbdConnection.negotiationMillis = was;
    }
    synchronized (logged) {
      assertThat(logged).anyMatch(l -> l.contains("no export chosen in 300 ms"));
    }
    stillServes();
  }

  @Test
  void malformedOrOversizedOptionsGetErrorsAndTheHandshakeGoesOn() throws Exception {
    try (Client c = new Client()) {
      c.option(Nbd.OPT_GO, ByteBuffer.allocate(200 << 10)); // over the option limit: skipped
      assertThat(c.reply(Nbd.OPT_GO, new ArrayList<>())).isEqualTo(Nbd.REP_ERR_TOO_BIG);
      c.option(Nbd.OPT_GO, ByteBuffer.allocate(10).putInt(1000).flip()); // name past the end
      assertThat(c.reply(Nbd.OPT_GO, new ArrayList<>())).isEqualTo(Nbd.REP_ERR_INVALID);
      byte[] n = "nope".getBytes(StandardCharsets.UTF_8);
      c.option(Nbd.OPT_INFO, ByteBuffer.allocate(10).putInt(4).put(n).putShort((short) 0).flip());
      assertThat(c.reply(Nbd.OPT_INFO, new ArrayList<>())).isEqualTo(Nbd.REP_ERR_UNKNOWN);
      c.option(Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
      assertThat(c.reply(Nbd.OPT_STARTTLS, new ArrayList<>())).isEqualTo(Nbd.REP_ERR_POLICY);
      c.option(4242, ByteBuffer.allocate(3));
      assertThat(c.reply(4242, new ArrayList<>())).isEqualTo(Nbd.REP_ERR_UNSUP);
      c.option(Nbd.OPT_SET_META_CONTEXT, ByteBuffer.allocate(4).flip());
      assertThat(c.reply(Nbd.OPT_SET_META_CONTEXT, new ArrayList<>()))
          .as("meta contexts before structured replies")
          .isEqualTo(Nbd.REP_ERR_INVALID);
      c.option(Nbd.OPT_LIST, ByteBuffer.allocate(0));
      List<ByteBuffer> names = new ArrayList<>();
      assertThat(c.reply(Nbd.OPT_LIST, names)).isEqualTo(Nbd.REP_SERVER);
      assertThat(c.reply(Nbd.OPT_LIST, names)).isEqualTo(Nbd.REP_SERVER);
      assertThat(c.reply(Nbd.OPT_LIST, names)).isEqualTo(Nbd.REP_ACK);
      c.go("rw");
      c.request(0, Nbd.CMD_FLUSH, 1, 0, 0);
      assertThat(c.simpleError(1)).isZero();
    }
  }

  @Test
  void badRequestsGetTheProtocolsErrorsAndNeverChangeAByte() throws Exception {
    byte[] before = Files.readAllBytes(dir.resolve("b.raw"));
    try (Client c = new Client()) {
      c.go("ro");
      c.request(0, Nbd.CMD_WRITE, 1, 0, 4);
      c.write(ByteBuffer.wrap(new byte[] {9, 9, 9, 9}));
      assertThat(c.simpleError(1)).isEqualTo(Nbd.EPERM);
      c.request(0, Nbd.CMD_WRITE_ZEROES, 2, 0, 4096);
      assertThat(c.simpleError(2)).isEqualTo(Nbd.EPERM);
      c.request(0, Nbd.CMD_READ, 3, (1 << 20) - 2, 4); // past the end
      Object[] err = c.chunk(3);
      assertThat(err[1]).isEqualTo(Nbd.REPLY_TYPE_ERROR);
      assertThat(((ByteBuffer) err[2]).getInt()).isEqualTo(Nbd.EINVAL);
      c.request(0, Nbd.CMD_READ, 4, 0, 64L << 20); // over the payload limit
      assertThat(((ByteBuffer) c.chunk(4)[2]).getInt()).isEqualTo(Nbd.EOVERFLOW);
      c.request(0, Nbd.CMD_BLOCK_STATUS, 5, 0, 4096); // no meta context chosen
      assertThat(((ByteBuffer) c.chunk(5)[2]).getInt()).isEqualTo(Nbd.EINVAL);
      c.request(0, 77, 6, 0, 0);
      assertThat(c.simpleError(6)).isEqualTo(Nbd.EINVAL);
      c.request(0, Nbd.CMD_READ, 7, -1, 4); // an offset of 2^64-1
      assertThat(((ByteBuffer) c.chunk(7)[2]).getInt()).isEqualTo(Nbd.EINVAL);
    }
    assertThat(Files.readAllBytes(dir.resolve("b.raw"))).isEqualTo(before);
    stillServes();
  }

  @Test
  void aStructuredReadOfAHoleSaysSoAndBlockStatusMapsTheExport() throws Exception {
    try (Client c = new Client()) {
      c.option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
      assertThat(c.reply(Nbd.OPT_STRUCTURED_REPLY, new ArrayList<>())).isEqualTo(Nbd.REP_ACK);
      byte[] n = "rw".getBytes(StandardCharsets.UTF_8);
      byte[] q = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
      c.option(
          Nbd.OPT_SET_META_CONTEXT,
          ByteBuffer.allocate(12 + n.length + q.length)
              .putInt(n.length)
              .put(n)
              .putInt(1)
              .putInt(q.length)
              .put(q)
              .flip());
      List<ByteBuffer> ctx = new ArrayList<>();
      assertThat(c.reply(Nbd.OPT_SET_META_CONTEXT, ctx)).isEqualTo(Nbd.REP_META_CONTEXT);
      assertThat(ctx.get(0).getInt()).as("the first chosen context").isEqualTo(1);
      assertThat(c.reply(Nbd.OPT_SET_META_CONTEXT, new ArrayList<>())).isEqualTo(Nbd.REP_ACK);
      c.option(
          Nbd.OPT_GO,
          ByteBuffer.allocate(8 + n.length).putInt(n.length).put(n).putShort((short) 0).flip());
      int t;
      do {
        t = c.reply(Nbd.OPT_GO, new ArrayList<>());
      } while (t == Nbd.REP_INFO);
      c.request(0, Nbd.CMD_READ, 1, 512 << 10, 64 << 10); // nothing written there
      Object[] hole = c.chunk(1);
      assertThat(hole[1])
          .as(() -> StandardCharsets.UTF_8.decode(((ByteBuffer) hole[2]).duplicate()).toString())
          .isEqualTo(Nbd.REPLY_TYPE_OFFSET_HOLE);
      assertThat(hole[0]).isEqualTo(Nbd.REPLY_FLAG_DONE);
      assertThat(hole[1]).isEqualTo(Nbd.REPLY_TYPE_OFFSET_HOLE);
      ByteBuffer h = (ByteBuffer) hole[2];
      assertThat(h.getLong()).isEqualTo(512 << 10);
      assertThat(h.getInt()).isEqualTo(64 << 10);
      c.request(0, Nbd.CMD_BLOCK_STATUS, 2, 0, 1 << 20);
      Object[] bs = c.chunk(2);
      assertThat(bs[1]).isEqualTo(Nbd.REPLY_TYPE_BLOCK_STATUS);
      ByteBuffer p = (ByteBuffer) bs[2];
      assertThat(p.getInt()).as("the first chosen context").isEqualTo(1);
      long covered = 0;
      boolean data = false;
      while (p.hasRemaining()) {
        long len = p.getInt() & 0xffffffffL;
        int flags = p.getInt();
        data |= flags == 0 && covered <= 4096 && covered + len > 4096;
        covered += len;
      }
      assertThat(covered).isEqualTo(1 << 20);
      assertThat(data).as("the written bytes at 4096 are data").isTrue();
    }
  }

  /**
   * {@code NBD_CMD_CACHE} is offered and answered (a range past the end refused), and a whole read,
   * sent by the kernel from the file to this socket, is byte for byte the file.
   */
  @Test
  void cacheIsOfferedAndAnsweredAndAReadSentFromTheFileIsExact() throws Exception {
    byte[] file = Files.readAllBytes(dir.resolve("b.raw"));
    try (Client c = new Client()) {
      int flags = c.go("ro");
      assertThat(flags & Nbd.FLAG_SEND_CACHE).as("cache offered").isNotZero();
      c.request(0, Nbd.CMD_CACHE, 1, 0, 1 << 20);
      assertThat(c.simpleError(1)).isZero();
      c.request(0, Nbd.CMD_CACHE, 2, (1 << 20) - 2, 4);
      assertThat(c.simpleError(2)).isEqualTo(Nbd.EINVAL);
      c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 3, 0, 1 << 20);
      Object[] all = c.chunk(3);
      assertThat(all[0]).isEqualTo(Nbd.REPLY_FLAG_DONE);
      assertThat(all[1]).isEqualTo(Nbd.REPLY_TYPE_OFFSET_DATA);
      ByteBuffer p = (ByteBuffer) all[2];
      assertThat(p.getLong()).isZero();
      byte[] got = new byte[p.remaining()];
      p.get(got);
      assertThat(got).isEqualTo(file);
    }
    assertThat(Files.readAllBytes(dir.resolve("b.raw"))).isEqualTo(file);
  }
}
