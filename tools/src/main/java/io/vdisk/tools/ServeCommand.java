package io.vdisk.tools;

import io.vdisk.engine.Disks;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.sr.Cbt;
import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.nbd.NbdExport;
import io.vdisk.nbd.NbdServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vdisk serve}: images, chains and SR VDIs over NBD until stopped. */
@Command(
    name = "serve",
    description = {
      "Serve images, chains or an SR's VDIs over NBD.",
      "Serve SOURCEs over NBD until SIGINT or SIGTERM: an image or chain leaf (export name: its file name), an SR's <uuid>.vhd (its file name or UUID), or an SR directory (each managed VDI, by UUID and by a name-label only it has). The first SOURCE is the default export. Each disk is opened as a write or a read would open it (locks, the write rule); read, write with FUA, flush, trim, write-zeroes and base:allocation block status are served; an SR VDI also has a qemu:dirty-bitmap:SNAPSHOT context per snapshot of it: the sectors changed since that snapshot (as vdi-list-changed-blocks), and since then through NBD."
    })
final class ServeCommand extends VdiskCommand {
  @Option(
      names = "--listen",
      paramLabel = "unix:PATH|tcp:HOST:PORT",
      description = "Where to listen (default tcp:127.0.0.1:10809; port 0 picks a free one).")
  String listen = "tcp:127.0.0.1:10809";

  @Option(names = "--read-only", description = "Serve every export read-only.")
  boolean readOnly;

  @Option(
      names = "--tls-creds",
      paramLabel = "DIR",
      description =
          "Require TLS, with the X.509 credentials in DIR laid out as qemu's tls-creds-x509:"
              + " server-cert.pem, server-key.pem (PKCS #8), ca-cert.pem.")
  Path tlsCreds;

  @Option(
      names = "--tls-verify-peer",
      description =
          "With --tls-creds: ask every client for a certificate signed by DIR/ca-cert.pem and"
              + " refuse those without one (qemu's verify-peer=on); TLS 1.2 then, which GnuTLS"
              + " clients need to send an RSA certificate.")
  boolean tlsVerifyPeer;

  @Parameters(
      paramLabel = "SOURCE",
      arity = "1..*",
      description = "Images, chain leaves, SR <uuid>.vhd files or SR directories to serve.")
  List<Path> sources;

  /** The opened exports; closing them flushes what clients wrote and did not flush. */
  private static final class Opened implements AutoCloseable {
    final List<NbdExport> exports = new ArrayList<>();

    @Override
    public void close() throws IOException {
      IOException first = null;
      for (NbdExport e : exports) {
        try {
          e.disk().close();
        } catch (IOException io) {
          first = first == null ? io : first;
        }
      }
      if (first != null) {
        throw first;
      }
    }
  }

  @Override
  public Integer call() throws Exception {
    if (tlsVerifyPeer && tlsCreds == null) {
      throw new ErrorHandler.UsageException("--tls-verify-peer needs --tls-creds DIR");
    }
    try (Opened opened = new Opened()) {
      for (Path s : sources) {
        open(s, opened.exports);
      }
      List<NbdExport> exports = opened.exports;
      io.vdisk.nbd.TlsCredentials tls =
          tlsCreds == null ? null : io.vdisk.nbd.TlsCredentials.load(tlsCreds, tlsVerifyPeer);
      try (NbdServer server =
          NbdServer.open(
              listen,
              exports,
              tls,
              m -> {
                err().println("vdisk serve: " + m);
                err().flush();
              })) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server), "vdisk-serve-stop"));
        if (tls == null
            && listen.startsWith("tcp:")
            && !listen.startsWith("tcp:127.")
            && !listen.startsWith("tcp:localhost:")) {
          err()
              .println(
                  "vdisk serve: warning: plain TCP, no authentication and no encryption: anyone who"
                      + " reaches this port reads"
                      + (readOnly ? "" : " and writes")
                      + " these disks (--tls-creds DIR encrypts)");
        }
        for (NbdExport e : exports) {
          out()
              .printf(
                  "%s %s(%s%s)%n",
                  server.uri(e),
                  e.names().size() > 1
                      ? String.join(" ", e.names().subList(1, e.names().size())) + " "
                      : "",
                  Sizes.human(e.disk().size()),
                  e.readOnly() ? ", read-only" : "");
        }
        out().flush();
        server.serve();
      }
      return ExitCode.OK;
    }
  }

  private static void stop(NbdServer server) {
    try {
      server.close();
    } catch (IOException e) {
      // stopping anyway
    }
  }

  private void open(Path s, List<NbdExport> exports) throws IOException {
    if (Files.isDirectory(s) && StorageRepository.exists(s)) {
      try (StorageRepository sr = StorageRepository.open(s, false, "serve")) {
        Map<String, Integer> labels = new HashMap<>();
        List<StorageRepository.VdiView> vdis = sr.vdis();
        vdis.forEach(v -> labels.merge(v.name(), 1, Integer::sum));
        for (StorageRepository.VdiView v : vdis) {
          if (!v.managed() || v.problem() != null) {
            continue;
          }
          boolean ro = readOnly || v.readOnly();
          VirtualDisk d = sr.openVdi(v.uuid(), ro, "serve");
          List<String> names = new ArrayList<>(List.of(v.uuid()));
          if (labels.get(v.name()) == 1 && !v.name().isEmpty()) {
            names.add(v.name());
          }
          exports.add(new NbdExport(names, v.name(), d, ro, dirty(sr, vdis, v.uuid(), d)));
        }
      }
      return;
    }
    String file = s.getFileName().toString();
    java.util.Optional<String> vdi = WriteRule.srVdi(s);
    List<String> names = new ArrayList<>(List.of(file));
    vdi.ifPresent(names::add);
    if (vdi.isEmpty()) {
      exports.add(new NbdExport(names, file, Disks.open(s, null, readOnly), readOnly));
      return;
    }
    try (StorageRepository sr =
        StorageRepository.open(s.toAbsolutePath().normalize().getParent(), false, "serve")) {
      VirtualDisk d = sr.openVdi(vdi.get(), readOnly, "serve");
      exports.add(new NbdExport(names, file, d, readOnly, dirty(sr, sr.vdis(), vdi.get(), d)));
    }
  }

  /**
   * A dirty bitmap per snapshot of {@code vdi} among {@code vdis} (the SR's list, read once for
   * every export), named by the snapshot's UUID: the sectors changed since it, as
   * vdi-list-changed-blocks finds them (from the chains, else the CBT logs). A snapshot whose
   * changes are unknown (an inconsistent log) is left out, with a warning.
   */
  private Map<String, org.roaringbitmap.RoaringBitmap> dirty(
      StorageRepository sr, List<StorageRepository.VdiView> vdis, String vdi, VirtualDisk d)
      throws IOException {
    Map<String, org.roaringbitmap.RoaringBitmap> out = new java.util.LinkedHashMap<>();
    for (StorageRepository.VdiView v : vdis) {
      if (!v.snapshot() || !vdi.equals(sr.snapshotOf(v.uuid()))) {
        continue;
      }
      try {
        io.vdisk.engine.ChangedBlocks c;
        if ("cbt_metadata".equals(v.type())) {
          c = Cbt.changed(sr, v.uuid(), vdi, null, d);
        } else {
          try (VirtualDisk snap = sr.openVdi(v.uuid(), true, "serve")) {
            c = Cbt.changed(sr, v.uuid(), vdi, snap, d);
          }
        }
        out.put(v.uuid(), c.sectors());
      } catch (io.vdisk.engine.sr.SrException unknown) {
        err().println("vdisk serve: no dirty bitmap " + v.uuid() + ": " + unknown.getMessage());
      }
    }
    return out;
  }
}
