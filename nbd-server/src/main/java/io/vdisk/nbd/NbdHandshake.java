package io.vdisk.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Fixed newstyle negotiation with one client: options answered until it chooses an export ({@code
 * NBD_OPT_GO} or {@code EXPORT_NAME}) or aborts. Malformed options get the protocol's error and the
 * handshake goes on; options over {@link Nbd#MAX_OPTION} are skipped and refused; a bad magic or
 * too many options end the connection ({@link ProtocolException}).
 */
final class NbdHandshake {
  private static final int MAX_OPTIONS = 1000;

  private static final int PREFERRED_BLOCK = 4096;

  /** A protocol violation: the connection is closed, with this line logged. */
  static final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
      super(message);
    }
  }

  private final Wire wire;
  private final List<NbdExport> exports;
  private boolean fixed;
  private boolean noZeroes;
  private boolean structured;
  private List<String> contexts = List.of();

  private final TlsCredentials tls;
  private boolean secured;

  /**
   * {@code tls} not null: TLS is required, and every option but STARTTLS and ABORT waits for it.
   */
  NbdHandshake(Wire wire, List<NbdExport> exports, TlsCredentials tls, ByteChannel raw) {
    this.wire = wire;
    this.exports = exports;
    this.tls = tls;
    this.raw = raw;
  }

  private final ByteChannel raw;

  /** Whether the client negotiated structured replies. */
  boolean structured() {
    return structured;
  }

  /**
   * The metadata contexts the client chose with {@code NBD_OPT_SET_META_CONTEXT}, in order; their
   * ids are their positions plus one.
   */
  List<String> contexts() {
    return contexts;
  }

  /** Negotiates; returns the chosen export, or null when the client aborted. */
  NbdExport negotiate() throws IOException {
    ByteBuffer hello = ByteBuffer.allocate(18);
    hello.putLong(Nbd.INIT_MAGIC).putLong(Nbd.OPTS_MAGIC);
    hello.putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
    wire.writeFully(hello);
    int clientFlags = wire.read(4).getInt();
    if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
      throw new ProtocolException("unknown client flags 0x" + Integer.toHexString(clientFlags));
    }
    fixed = (clientFlags & Nbd.FLAG_C_FIXED_NEWSTYLE) != 0;
    noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
    for (int n = 0; n < MAX_OPTIONS; n++) {
      ByteBuffer h = wire.read(16);
      if (h.getLong() != Nbd.OPTS_MAGIC) {
        throw new ProtocolException("bad option magic");
      }
      int opt = h.getInt();
      long len = h.getInt() & 0xffffffffL;
      if (!fixed && opt != Nbd.OPT_EXPORT_NAME) {
        throw new ProtocolException("option " + opt + " from a client without fixed newstyle");
      }
      if (len > Nbd.MAX_OPTION) {
        wire.skip(len);
        optionReply(opt, Nbd.REP_ERR_TOO_BIG, text("option data of " + len + " bytes"));
        continue;
      }
      ByteBuffer data = wire.read((int) len);
      if (tls != null && !secured && opt != Nbd.OPT_STARTTLS && opt != Nbd.OPT_ABORT) {
        if (opt == Nbd.OPT_EXPORT_NAME) {
          throw new ProtocolException("NBD_OPT_EXPORT_NAME before TLS, which this server requires");
        }
        optionReply(opt, Nbd.REP_ERR_TLS_REQD, text("this server requires TLS (NBD_OPT_STARTTLS)"));
        continue;
      }
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
        wire.writeFully(b.position(b.capacity()).flip());
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
        if (tls == null) {
          optionReply(
              opt, Nbd.REP_ERR_POLICY, text("this server offers no TLS (serve --tls-creds)"));
        } else if (secured || data.hasRemaining()) {
          optionReply(
              opt,
              Nbd.REP_ERR_INVALID,
              text(secured ? "TLS is on already" : "NBD_OPT_STARTTLS takes no data"));
        } else {
          optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
          wire.startTls(new TlsChannel(raw, tls.engine()));
          secured = true;
          // what was negotiated in the clear does not carry over (the NBD spec's rule)
          structured = false;
          contexts = List.of();
        }
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
    NbdExport e = find(name);
    if (e == null) {
      optionReply(opt, Nbd.REP_ERR_UNKNOWN, text("no export named '" + printable(name) + "'"));
      return;
    }
    boolean set = opt == Nbd.OPT_SET_META_CONTEXT;
    List<String> offered = e.contexts();
    List<String> chosen = new ArrayList<>();
    for (String c : offered) {
      boolean match = !set && queries.isEmpty();
      for (String q : queries) {
        match |= q.equals(c) || (!set && matchesPrefix(q, c));
      }
      if (match && !chosen.contains(c)) {
        chosen.add(c);
      }
    }
    if (set) {
      contexts = List.copyOf(chosen);
    }
    for (String c : chosen) {
      byte[] n = c.getBytes(StandardCharsets.UTF_8);
      int id = set ? contexts.indexOf(c) + 1 : 0;
      optionReply(
          opt, Nbd.REP_META_CONTEXT, ByteBuffer.allocate(4 + n.length).putInt(id).put(n).flip());
    }
    optionReply(opt, Nbd.REP_ACK, ByteBuffer.allocate(0));
  }

  /**
   * A list query naming a namespace ({@code base:}, {@code qemu:}) or a leaf prefix ({@code
   * qemu:dirty-bitmap:}), with or without a trailing {@code *}, matches every context under it.
   */
  private static boolean matchesPrefix(String query, String context) {
    String q = query.endsWith("*") ? query.substring(0, query.length() - 1) : query;
    return q.endsWith(":") && context.startsWith(q);
  }

  private static int transmissionFlags(NbdExport e) {
    int f =
        Nbd.FLAG_HAS_FLAGS
            | Nbd.FLAG_SEND_FLUSH
            | Nbd.FLAG_SEND_DF
            | Nbd.FLAG_CAN_MULTI_CONN
            | Nbd.FLAG_SEND_CACHE;
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
    wire.writeFully(h, data);
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
}
