package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vdisk serve} against real NBD clients from Debian: qemu-img and qemu-io (qemu-utils),
 * nbdinfo and nbdcopy (libnbd-bin), on a Unix socket.
 */
class NbdIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private Process server;

  private Path sock() {
    return dir.resolve("s.sock");
  }

  private String uri(String export) {
    return "nbd+unix:///" + export + "?socket=" + sock();
  }

  private String f(String name) {
    return dir.resolve(name).toString();
  }

  private Process serve(String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("--listen", "unix:" + sock()));
    all.addAll(Arrays.asList(args));
    server = Served.start(dir, "serve", all.toArray(new String[0]));
    assertThat(Files.readString(dir.resolve("serve.out"))).startsWith("nbd+unix:///");
    assertThat(sock()).exists();
    return server;
  }

  private void stop(boolean kill) throws Exception {
    if (kill) {
      server.destroyForcibly();
    } else {
      server.destroy();
    }
    assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    server = null;
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (server != null) {
      stop(true);
    }
  }

  /** A 64 MiB dynamic image with data in three blocks, and its raw contents. */
  private void image() throws Exception {
    Cli.run("create", "--size", "64M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 0x11 1M 64K", "-c", "write -P 0x22 20M 3M").ok();
    Cli.run("convert", "-O", "raw", f("a.vhd"), f("before.raw")).ok();
  }

  @Test
  void qemuAndLibnbdReadWhatTheImageHoldsAndMapItAsVdiskDoes() throws Exception {
    image();
    JsonNode map = JSON.readTree(Cli.run("map", "--json", f("a.vhd")).ok().out());
    serve(f("a.vhd"));
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "raw", f("before.raw"), uri("a.vhd"));
    // nbdinfo --map lists what vdisk map lists: data, or hole,zero
    List<String> expected = new ArrayList<>();
    for (JsonNode e : map) {
      expected.add(
          e.get("start").asLong()
              + " "
              + e.get("length").asLong()
              + " "
              + (e.get("data").asBoolean() ? "data" : "hole,zero"));
    }
    List<String> seen = new ArrayList<>();
    for (String line :
        Proc.ok(dir, "nbdinfo", "--map", uri("a.vhd")).out().trim().split("\n", -1)) {
      String[] w = line.trim().split("\\s+", -1);
      seen.add(w[0] + " " + w[1] + " " + w[3]);
    }
    assertThat(seen).isEqualTo(expected);
    // nbdcopy of the sparse export writes only what holds data
    Proc.ok(dir, "nbdcopy", uri("a.vhd"), f("copy.raw"));
    assertThat(Files.readAllBytes(dir.resolve("copy.raw")))
        .isEqualTo(Files.readAllBytes(dir.resolve("before.raw")));
    long allocated =
        512 * Long.parseLong(Proc.ok(dir, "stat", "-c", "%b", f("copy.raw")).out().trim());
    assertThat(allocated).as("nbdcopy skipped the holes").isLessThan(16L << 20);
    // the export answers to the default name too
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "raw", f("before.raw"), uri(""));
  }

  @Test
  void qemuIoWritesAreInTheImageAfterTheServerStopsAndFlushedOnesSurviveKillMinus9()
      throws Exception {
    image();
    serve(f("a.vhd"));
    Proc.ok(dir, "qemu-io", "-f", "raw", "-c", "write -P 0x77 3M 64k", uri("a.vhd"));
    Proc.ok(
        dir,
        "qemu-io",
        "-f",
        "raw",
        "-c",
        "write -z 20M 1M",
        "-c",
        "write -P 0x66 40M 1M",
        "-c",
        "flush",
        uri("a.vhd"));
    stop(true); // kill -9 after the flush
    Cli.run("check", f("a.vhd")).ok();
    Cli.run(
            "io",
            f("a.vhd"),
            "-c",
            "read -P 0x77 3M 64k",
            "-c",
            "read -P 0 20M 1M",
            "-c",
            "read -P 0x22 21M 2M",
            "-c",
            "read -P 0x66 40M 1M")
        .ok();
    // a server killed leaves its socket file: the next one takes it over
    assertThat(sock()).exists();
    serve(f("a.vhd"));
    Proc.ok(dir, "qemu-io", "-f", "raw", "-c", "write -P 0x55 50M 4k", uri("a.vhd"));
    stop(false); // SIGTERM: the image is flushed and closed, the socket removed
    assertThat(sock()).doesNotExist();
    Cli.run("io", f("a.vhd"), "-c", "read -P 0x55 50M 4k").ok();
  }

  @Test
  void twoReadersAndAWriterAtOnce() throws Exception {
    image();
    serve(f("a.vhd"));
    Process w =
        new ProcessBuilder(
                "qemu-io", "-f", "raw", "-c", "write -P 0x55 32M 4M", "-c", "flush", uri("a.vhd"))
            .redirectErrorStream(true)
            .start();
    Process r1 = new ProcessBuilder("nbdcopy", uri("a.vhd"), f("r1.raw")).start();
    Process r2 = new ProcessBuilder("nbdcopy", uri("a.vhd"), f("r2.raw")).start();
    for (Process p : List.of(w, r1, r2)) {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isZero();
    }
    byte[] before = Files.readAllBytes(dir.resolve("before.raw"));
    for (String r : List.of("r1.raw", "r2.raw")) {
      byte[] got = Files.readAllBytes(dir.resolve(r));
      // outside the range being written, every reader saw the image as it was
      assertThat(Arrays.copyOfRange(got, 0, 32 << 20))
          .isEqualTo(Arrays.copyOfRange(before, 0, 32 << 20));
      assertThat(Arrays.copyOfRange(got, 36 << 20, 64 << 20))
          .isEqualTo(Arrays.copyOfRange(before, 36 << 20, 64 << 20));
    }
    stop(false);
    Cli.run("io", f("a.vhd"), "-c", "read -P 0x55 32M 4M").ok();
    Cli.run("check", f("a.vhd")).ok();
  }

  @Test
  void aReadOnlyExportRefusesWritesAndAnSrVdiIsServedUnderItsLock() throws Exception {
    image();
    serve("--read-only", f("a.vhd"));
    byte[] bytes = Files.readAllBytes(dir.resolve("a.vhd"));
    Proc w = Proc.run(dir, "qemu-io", "-f", "raw", "-c", "write -P 0x77 0 4k", uri("a.vhd"));
    assertThat(w.exit()).as(w.out()).isNotZero();
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "raw", f("before.raw"), uri("a.vhd"));
    // a second writer of the image is refused while it is served (the image lock)
    assertThat(Cli.run("io", f("a.vhd"), "-c", "write -P 1 0 512").exit())
        .isEqualTo(ExitCode.REFUSED);
    stop(false);
    assertThat(Files.readAllBytes(dir.resolve("a.vhd"))).isEqualTo(bytes);

    Path sr = dir.resolve("sr");
    Cli.run("sr-create", "--sr", sr.toString()).ok();
    String disk =
        Cli.run("vdi-create", "--sr", sr.toString(), "name-label=root", "virtual-size=8M")
            .ok()
            .out()
            .trim();
    serve(sr.toString());
    Proc.ok(dir, "qemu-io", "-f", "raw", "-c", "write -P 0x31 0 64k", uri("root"));
    Proc snap =
        Proc.run(
            dir,
            "java",
            "-jar",
            Cli.jar(),
            "vdi-snapshot",
            "--no-wait",
            "--sr",
            sr.toString(),
            "uuid=" + disk);
    assertThat(snap.exit()).as("a served VDI is locked").isEqualTo(ExitCode.REFUSED);
    assertThat(snap.out()).contains("vdisk serve");
    stop(false);
    Cli.run("io", sr.resolve(disk + ".vhd").toString(), "-c", "read -P 0x31 0 64k").ok();
  }

  /**
   * TLS as qemu and libnbd speak it: X.509 credentials made by openssl in qemu's tls-creds-x509
   * layout; a client without TLS is refused before it sees an export, qemu-io writes and reads
   * through TLS, nbdcopy copies the export whole, and vdisk reads qemu's write after the stop.
   */
  @Test
  void tlsIsRequiredAndServedToQemuAndLibnbd() throws Exception {
    image();
    Path server = Files.createDirectories(dir.resolve("tls-server"));
    Path client = Files.createDirectories(dir.resolve("tls-client"));
    authority("ca", server.resolve("ca-cert.pem"));
    signed("ca", server.resolve("ca-cert.pem"), server, "server", "serverAuth");
    Files.copy(server.resolve("ca-cert.pem"), client.resolve("ca-cert.pem"));

    String port = serveTls(server);
    assertThat(Files.readString(dir.resolve("serve.err"))).doesNotContain("plain TCP");

    Proc plain = Proc.run(dir, "qemu-img", "info", "nbd://localhost:" + port + "/a.vhd");
    assertThat(plain.exit()).isNotZero();
    assertThat(plain.out()).contains("TLS");

    qemuIoThroughTls(
        client, port, "read -P 0x11 1M 64K", "write -P 0x5a 40M 1M", "read -P 0x5a 40M 1M");
    String nbds = "nbds://localhost:" + port + "/a.vhd?tls-certificates=" + client;
    Proc.ok(dir, "nbdcopy", nbds, f("copy.raw"));
    assertThat(Proc.ok(dir, "nbdinfo", nbds).out()).contains("with TLS");
    stop(false);
    Cli.run("io", f("a.vhd"), "-c", "read -P 0x5a 40M 1M", "-c", "read -P 0x11 1M 64K").ok();
    Cli.run("compare", f("copy.raw"), f("a.vhd")).ok();
  }

  /**
   * Serves a.vhd on a free loopback port with the TLS credentials in {@code creds} (and {@code
   * extra} options); returns the port, checking the printed URI is an {@code nbds://} one.
   */
  private String serveTls(Path creds, String... extra) throws Exception {
    List<String> argv =
        new ArrayList<>(List.of("--listen", "tcp:127.0.0.1:0", "--tls-creds", creds.toString()));
    argv.addAll(List.of(extra));
    argv.add(f("a.vhd"));
    this.server = Served.start(dir, "serve", argv.toArray(new String[0]));
    String uri = Files.readString(dir.resolve("serve.out")).trim().split("\\s+", -1)[0];
    assertThat(uri).startsWith("nbds://127.0.0.1:").endsWith("/a.vhd");
    return uri.replaceAll("^nbds://127\\.0\\.0\\.1:([0-9]+)/.*$", "$1");
  }

  /** qemu-io's {@code commands} on export a.vhd at localhost:{@code port}, through TLS. */
  private void qemuIoThroughTls(Path client, String port, String... commands) throws Exception {
    List<String> argv = new ArrayList<>();
    argv.addAll(
        List.of(
            "qemu-io",
            "--object",
            "tls-creds-x509,id=tls0,dir=" + client + ",endpoint=client",
            "--image-opts",
            "driver=nbd,server.type=inet,server.host=localhost,server.port="
                + port
                + ",export=a.vhd,tls-creds=tls0"));
    for (String c : commands) {
      argv.add("-c");
      argv.add(c);
    }
    Proc.ok(dir, argv.toArray(new String[0]));
  }

  /** A self-signed certificate authority: its key in {@code NAME-key.pem}, its certificate. */
  private void authority(String name, Path cert) throws Exception {
    Proc.ok(
        dir,
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        f(name + "-key.pem"),
        "-out",
        cert.toString(),
        "-subj",
        "/CN=vdisk test " + name);
  }

  /**
   * {@code ROLE-cert.pem} and {@code ROLE-key.pem} (PKCS #8) in {@code into}, signed by authority
   * {@code ca}, for localhost, with extended key usage {@code usage}: qemu's and libnbd's layout.
   */
  private void signed(String ca, Path caCert, Path into, String role, String usage)
      throws Exception {
    Proc.ok(
        dir,
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        into.resolve(role + "-key.pem").toString(),
        "-out",
        f(role + ".csr"),
        "-subj",
        "/CN=localhost");
    Files.writeString(
        dir.resolve(role + ".cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=" + usage + "\n");
    Proc.ok(
        dir,
        "openssl",
        "x509",
        "-req",
        "-in",
        f(role + ".csr"),
        "-CA",
        caCert.toString(),
        "-CAkey",
        f(ca + "-key.pem"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f(role + ".cnf"),
        "-out",
        into.resolve(role + "-cert.pem").toString());
  }

  /**
   * Client certificates (qemu's {@code verify-peer=on}): with {@code --tls-verify-peer}, a client
   * without a certificate, or with one another authority signed, is refused in the TLS handshake
   * before it sees an export; qemu-io and nbdcopy with a certificate the server's CA signed read
   * and write, and vdisk reads qemu's write after the stop.
   */
  @Test
  void clientCertificatesAreRequiredWhenPeersAreVerified() throws Exception {
    image();
    Path server = Files.createDirectories(dir.resolve("tls-server"));
    Path client = Files.createDirectories(dir.resolve("tls-client"));
    Path anonymous = Files.createDirectories(dir.resolve("tls-anonymous"));
    Path rogue = Files.createDirectories(dir.resolve("tls-rogue"));
    Path caCert = server.resolve("ca-cert.pem");
    authority("ca", caCert);
    signed("ca", caCert, server, "server", "serverAuth");
    signed("ca", caCert, client, "client", "clientAuth");
    authority("other", dir.resolve("other-ca.pem"));
    signed("other", dir.resolve("other-ca.pem"), rogue, "client", "clientAuth");
    for (Path p : List.of(client, anonymous, rogue)) {
      Files.copy(caCert, p.resolve("ca-cert.pem"));
    }
    assertThat(Cli.run("serve", "--tls-verify-peer", f("a.vhd")).exit())
        .as("verifying peers needs credentials")
        .isEqualTo(ExitCode.USAGE);

    String port = serveTls(server, "--tls-verify-peer");
    String base = "nbds://localhost:" + port + "/a.vhd?tls-certificates=";
    for (Path refused : List.of(anonymous, rogue)) {
      Proc p = Proc.run(dir, "nbdinfo", base + refused);
      assertThat(p.exit()).as("%s: %s", refused.getFileName(), p.out()).isNotZero();
    }
    qemuIoThroughTls(client, port, "read -P 0x11 1M 64K", "write -P 0x6b 41M 1M");
    Proc.ok(dir, "nbdcopy", base + client, f("copy.raw"));
    stop(false);
    assertThat(Files.readString(dir.resolve("serve.err"))).contains("connection closed");
    Cli.run("io", f("a.vhd"), "-c", "read -P 0x6b 41M 1M", "-c", "read -P 0x11 1M 64K").ok();
    Cli.run("compare", f("copy.raw"), f("a.vhd")).ok();
  }
}
