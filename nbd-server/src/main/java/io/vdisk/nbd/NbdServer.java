package io.vdisk.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An NBD server over some exports, on a Unix socket ({@code unix:PATH}) or TCP ({@code
 * tcp:HOST:PORT}): one thread per connection reads its requests, a fixed pool serves them (the
 * lesson of the FUSE loop: the disks' own locks, not one thread, decide what runs together).
 * Connections past {@link #MAX_CONNECTIONS} are closed at once, with one logged line.
 */
public final class NbdServer implements Closeable {
  static final int MAX_CONNECTIONS = 64;

  private final ServerSocketChannel listener;
  private final Path socketFile;
  private final String uri;
  private final List<NbdExport> exports;
  private final Consumer<String> log;
  private final TlsCredentials tls;
  private final ExecutorService pool;
  private final AtomicInteger open = new AtomicInteger();
  private final Set<SocketChannel> clients = new HashSet<>();
  private volatile boolean closed;

  private NbdServer(
      ServerSocketChannel listener,
      Path socketFile,
      String uri,
      List<NbdExport> exports,
      TlsCredentials tls,
      Consumer<String> log) {
    this.listener = listener;
    this.tls = tls;
    this.socketFile = socketFile;
    this.uri = uri;
    this.exports = List.copyOf(exports);
    this.log = log;
    int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    AtomicInteger n = new AtomicInteger();
    this.pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "nbd-worker-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Listens on {@code address}: {@code unix:PATH} (the socket file must not exist yet) or {@code
   * tcp:HOST:PORT} (port 0 picks a free one; {@link #uri()} says which).
   */
  public static NbdServer open(String address, List<NbdExport> exports, Consumer<String> log)
      throws IOException {
    return open(address, exports, null, log);
  }

  /**
   * As above; with {@code tls}, every client must start TLS ({@code NBD_OPT_STARTTLS}) before
   * anything else, as qemu-nbd with {@code --tls-creds} requires, and URIs are {@code nbds}.
   */
  public static NbdServer open(
      String address, List<NbdExport> exports, TlsCredentials tls, Consumer<String> log)
      throws IOException {
    if (exports.isEmpty()) {
      throw new IllegalArgumentException("nothing to serve");
    }
    Set<String> names = new HashSet<>();
    for (NbdExport e : exports) {
      for (String n : e.names()) {
        if (!names.add(n)) {
          throw new IllegalArgumentException("two exports answer to the name '" + n + "'");
        }
      }
    }
    if (address.startsWith("unix:")) {
      Path p = Path.of(address.substring(5)).toAbsolutePath();
      if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        removeStaleSocket(p);
      }
      ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      s.bind(UnixDomainSocketAddress.of(p));
      return new NbdServer(
          s, p, (tls != null ? "nbds" : "nbd") + "+unix:///?socket=" + p, exports, tls, log);
    }
    if (address.startsWith("tcp:")) {
      String hp = address.substring(4);
      int colon = hp.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("expected tcp:HOST:PORT, got '" + address + "'");
      }
      String host = hp.substring(0, colon).replaceAll("^\\[|\\]$", "");
      int port;
      try {
        port = Integer.parseInt(hp.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad port in '" + address + "'", e);
      }
      ServerSocketChannel s = ServerSocketChannel.open();
      s.bind(new InetSocketAddress(host, port));
      int bound = ((InetSocketAddress) s.getLocalAddress()).getPort();
      String h = host.contains(":") ? "[" + host + "]" : host;
      return new NbdServer(
          s, null, (tls != null ? "nbds" : "nbd") + "://" + h + ":" + bound, exports, tls, log);
    }
    throw new IllegalArgumentException(
        "expected unix:PATH or tcp:HOST:PORT, got '" + address + "'");
  }

  /**
   * A socket file left by a server that died (kill -9) is removed; one a server still listens on,
   * or any other file, is refused.
   */
  private static void removeStaleSocket(Path p) throws IOException {
    if (!isSocket(p)) {
      throw new java.nio.file.FileAlreadyExistsException(
          p.toString(), null, "exists and is not a socket");
    }
    try {
      SocketChannel.open(UnixDomainSocketAddress.of(p)).close();
    } catch (java.net.ConnectException stale) {
      Files.deleteIfExists(p); // nobody listens: the file of a server that died
      return;
    }
    throw new java.nio.file.FileAlreadyExistsException(
        p.toString(), null, "a server already listens there");
  }

  private static boolean isSocket(Path p) throws IOException {
    int mode =
        (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    return (mode & 0170000) == 0140000;
  }

  /** Where clients connect, as qemu and libnbd write it ({@code nbd://HOST:PORT}, …). */
  public String uri() {
    return uri;
  }

  /** The URI of one export. */
  public String uri(NbdExport e) {
    if (socketFile != null) {
      return (tls != null ? "nbds" : "nbd") + "+unix:///" + e.name() + "?socket=" + socketFile;
    }
    return uri + "/" + e.name();
  }

  /** Accepts clients until {@link #close()}. */
  public void serve() throws IOException {
    int ids = 0;
    while (!closed) {
      SocketChannel c;
      try {
        c = listener.accept();
      } catch (ClosedChannelException stopping) {
        return;
      }
      String peer = peer(c, ++ids);
      if (open.incrementAndGet() > MAX_CONNECTIONS) {
        open.decrementAndGet();
        log.accept(peer + ": refused, " + MAX_CONNECTIONS + " connections already open");
        c.close();
        continue;
      }
      synchronized (clients) {
        clients.add(c);
      }
      Thread t =
          new Thread(
              () -> {
                try {
                  new NbdConnection(c, peer, exports, tls, pool, log).run();
                } finally {
                  synchronized (clients) {
                    clients.remove(c);
                  }
                  open.decrementAndGet();
                }
              },
              "nbd-" + peer);
      t.setDaemon(true);
      t.start();
    }
  }

  private static String peer(SocketChannel c, int id) {
    try {
      Object a = c.getRemoteAddress();
      return "client " + id + (a instanceof InetSocketAddress i ? " (" + i + ")" : "");
    } catch (IOException e) {
      return "client " + id;
    }
  }

  /** Stops listening, ends every connection, and waits briefly for requests being served. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      listener.close();
      synchronized (clients) {
        for (SocketChannel c : clients) {
          c.close();
        }
      }
      pool.shutdown();
      try {
        pool.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } finally {
      if (socketFile != null) {
        Files.deleteIfExists(socketFile); // the listening socket's own file, made by bind
      }
    }
  }
}
