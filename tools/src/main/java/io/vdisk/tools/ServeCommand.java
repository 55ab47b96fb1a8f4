package io.vdisk.tools;

import io.vdisk.engine.Disks;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
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
      "Serve SOURCEs over NBD until SIGINT or SIGTERM: an image or chain leaf (export name: its",
      "file name), an SR's <uuid>.vhd (its file name or UUID), or an SR directory (each managed",
      "VDI, by UUID and by a name-label only it has). The first SOURCE is the default export.",
      "Each disk is opened as a write or a read would open it (locks, the write rule); read,",
      "write with FUA, flush, trim, write-zeroes and base:allocation block status are served."
    })
final class ServeCommand extends VdiskCommand {
  @Option(
      names = "--listen",
      paramLabel = "unix:PATH|tcp:HOST:PORT",
      description = "Where to listen (default tcp:127.0.0.1:10809; port 0 picks a free one).")
  String listen = "tcp:127.0.0.1:10809";

  @Option(names = "--read-only", description = "Serve every export read-only.")
  boolean readOnly;

  @Parameters(paramLabel = "SOURCE", arity = "1..*")
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
    try (Opened opened = new Opened()) {
      for (Path s : sources) {
        open(s, opened.exports);
      }
      List<NbdExport> exports = opened.exports;
      try (NbdServer server =
          NbdServer.open(
              listen,
              exports,
              m -> {
                err().println("vdisk serve: " + m);
                err().flush();
              })) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server), "vdisk-serve-stop"));
        if (listen.startsWith("tcp:")
            && !listen.startsWith("tcp:127.")
            && !listen.startsWith("tcp:localhost:")) {
          err()
              .println(
                  "vdisk serve: warning: plain TCP, no authentication and no encryption: anyone who"
                      + " reaches this port reads"
                      + (readOnly ? "" : " and writes")
                      + " these disks");
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
          exports.add(new NbdExport(names, v.name(), d, ro));
        }
      }
      return;
    }
    String file = s.getFileName().toString();
    java.util.Optional<String> vdi = WriteRule.srVdi(s);
    VirtualDisk d =
        vdi.isPresent()
            ? StorageRepository.openVdiFile(s, readOnly, "serve")
            : Disks.open(s, null, readOnly);
    List<String> names = new ArrayList<>(List.of(file));
    vdi.ifPresent(names::add);
    exports.add(new NbdExport(names, file, d, readOnly));
  }
}
