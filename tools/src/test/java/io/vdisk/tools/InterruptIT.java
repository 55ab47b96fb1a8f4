package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGINT and SIGTERM during long verbs: the verb stops at its next checkpoint, removes what it was
 * writing and rolls its journal back, and exits 130 or 143; what a kill -9 leaves is removed by the
 * next command that writes into the directory.
 */
class InterruptIT {
  @TempDir Path dir;

  /**
   * vdisk in a JVM of its own. SIGINT is reset to its default first: a build started in the
   * background (CI, {@code cmd &}) passes SIGINT on ignored, and a JVM keeps an ignored SIGINT
   * ignored, as a user's {@code nohup} asks.
   */
  private ProcessBuilder vdisk(String... args) {
    String[] cmd = new String[args.length + 5];
    cmd[0] = "env";
    cmd[1] = "--default-signal=INT";
    cmd[2] = "java";
    cmd[3] = "-jar";
    cmd[4] = Path.of("target/vdisk-all.jar").toAbsolutePath().toString();
    System.arraycopy(args, 0, cmd, 5, args.length);
    return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
  }

  private List<String> names(Path d) throws Exception {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static void signal(Process p, String sig) throws Exception {
    new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start().waitFor();
  }

  private Path randomRaw(String name, int mib) throws Exception {
    byte[] data = new byte[mib << 20];
    new Random(mib).nextBytes(data);
    return Files.write(dir.resolve(name), data);
  }

  @Test
  void sigtermDuringAStreamedImportLeavesTheSrAsItWas() throws Exception {
    String sr = dir.resolve("sr").toString();
    String vdi =
        Cli.run("vdi-create", "--sr", sr, "name-label=d", "virtual-size=32M").ok().out().trim();
    Cli.run("vdi-import", "--sr", sr, "uuid=" + vdi, "filename=" + randomRaw("in.raw", 24)).ok();
    String vm = Cli.run("vm-create", "--sr", sr, "name-label=web").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + vdi, "device=0").ok();
    Cli.run("vm-export", "--sr", sr, "vm=web", "filename=" + dir.resolve("vm.xva")).ok();
    String before = Cli.run("vdi-list", "--sr", sr, "--minimal").ok().out();
    List<String> files = names(Path.of(sr));

    Process p = vdisk("vm-import", "--sr", sr, "filename=-").start();
    byte[] xva = Files.readAllBytes(dir.resolve("vm.xva"));
    try (OutputStream in = p.getOutputStream()) {
      for (int off = 0; off < xva.length; off += 1 << 20) {
        in.write(xva, off, Math.min(1 << 20, xva.length - off));
        in.flush();
        TimeUnit.MILLISECONDS.sleep(100);
        if (off > xva.length / 2 && p.isAlive()) {
          signal(p, "TERM");
          break;
        }
      }
    } catch (java.io.IOException closedByTheSignal) {
      // the importer went away
    }
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isEqualTo(143);
    assertThat(Cli.run("vdi-list", "--sr", sr, "--minimal").ok().out()).isEqualTo(before);
    assertThat(names(Path.of(sr))).isEqualTo(files);
    assertThat(names(Path.of(sr).resolve("journal"))).isEmpty();
  }

  @Test
  void sigintDuringAnExportLeavesNoFile() throws Exception {
    String sr = dir.resolve("sr").toString();
    String vdi =
        Cli.run("vdi-create", "--sr", sr, "name-label=d", "virtual-size=128M").ok().out().trim();
    Cli.run("vdi-import", "--sr", sr, "uuid=" + vdi, "filename=" + randomRaw("in.raw", 96)).ok();
    String vm = Cli.run("vm-create", "--sr", sr, "name-label=web").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + vdi, "device=0").ok();
    Path out = Files.createDirectories(dir.resolve("out"));
    Process p =
        vdisk(
                "vm-export",
                "--sr",
                sr,
                "vm=web",
                "compress=gzip",
                "filename=" + out.resolve("a.xva"))
            .start();
    // signal while it writes: once its temporary archive is there (not after a fixed delay,
    // which a fast machine outruns)
    for (int i = 0; i < 500 && names(out).isEmpty() && p.isAlive(); i++) {
      TimeUnit.MILLISECONDS.sleep(20);
    }
    assertThat(names(out)).as("the export's temporary file while it runs").hasSize(1);
    signal(p, "INT");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String text =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(text).isEqualTo(130);
    assertThat(names(out)).as("neither the archive nor its temporary file").isEmpty();
  }

  @Test
  void whatAKill9LeftIsRemovedByTheNextWriter() throws Exception {
    Path raw = randomRaw("big.raw", 64);
    Path out = Files.createDirectories(dir.resolve("out"));
    Process p =
        vdisk("convert", "-f", "raw", "-O", "vhd", raw.toString(), out.resolve("a.vhd").toString())
            .start();
    for (int i = 0; i < 200 && names(out).isEmpty(); i++) {
      TimeUnit.MILLISECONDS.sleep(20);
    }
    p.destroyForcibly().waitFor();
    assertThat(names(out)).as("the killed convert's temporary file").hasSize(1);
    assertThat(names(out).get(0)).endsWith(".vdisk-tmp");
    Cli.run("create", "--size", "1M", out.resolve("b.vhd").toString()).ok();
    assertThat(names(out)).containsExactly("b.vhd");
  }
}
