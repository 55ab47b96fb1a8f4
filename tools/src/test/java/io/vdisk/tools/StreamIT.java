package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "-" means stdin or stdout, pipes are read as streams, and a stream that fails (a full disk, a
 * reader that went away) is an error with a non-zero exit: exit 0 promises the bytes are there.
 */
class StreamIT {
  @TempDir Path dir;
  private Path full;
  private String sr;
  private String vm;
  private String vdi;

  private String vdisk() {
    return "java -jar " + Cli.jar() + " ";
  }

  private Proc sh(String script) throws Exception {
    return Proc.run(dir, "bash", "-c", "set -u; " + script);
  }

  @BeforeEach
  void srWithAVm() throws Exception {
    sr = dir.resolve("sr").toString();
    vdi = Cli.run("vdi-create", "--sr", sr, "name-label=d", "virtual-size=16M").ok().out().trim();
    byte[] data = new byte[6 << 20];
    new Random(3).nextBytes(data); // incompressible, and more than the small tmpfs below
    Path raw = Files.write(dir.resolve("in.raw"), data);
    Cli.run("vdi-import", "--sr", sr, "uuid=" + vdi, "filename=" + raw).ok();
    vm = Cli.run("vm-create", "--sr", sr, "name-label=web").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + vdi, "device=0").ok();
    full = Files.createDirectories(dir.resolve("full"));
    Proc.ok(dir, "mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", full.toString());
  }

  @AfterEach
  void unmount() throws Exception {
    Proc.run(dir, "umount", full.toString());
  }

  /**
   * A streamed vdi-import too: while its sender pauses, the SR and even the VDI's lock are free (a
   * snapshot of the VDI goes ahead), and the import then replaces the contents whole.
   */
  @Test
  void aStreamedVdiImportHoldsNoLockWhileItWaitsForInput() throws Exception {
    byte[] data = new byte[16 << 20];
    new Random(11).nextBytes(data);
    Process p =
        new ProcessBuilder(
                Cli.ownJvm("vdi-import", "--sr", sr, "uuid=" + vdi, "filename=-", "format=raw"))
            .redirectErrorStream(true)
            .start();
    try (java.io.OutputStream in = p.getOutputStream()) {
      in.write(data, 0, data.length / 2);
      in.flush();
      Thread.sleep(1500);
      Cli.run("vdi-create", "--sr", sr, "--no-wait", "name-label=meanwhile", "virtual-size=1M")
          .ok();
      Cli.run("vdi-snapshot", "--sr", sr, "--no-wait", "uuid=" + vdi).ok();
      in.write(data, data.length / 2, data.length - data.length / 2);
    }
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    Path back = dir.resolve("back.raw");
    Cli.run("vdi-export", "--sr", sr, "uuid=" + vdi, "filename=" + back, "format=raw").ok();
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
    try (var files = Files.list(Path.of(sr))) {
      assertThat(files).noneMatch(io.vdisk.engine.io.TempFiles::isTemp);
    }
  }

  /**
   * A streamed vm-import waits for its input without the SR lock: while the sender pauses halfway,
   * another process changes the SR at once (--no-wait), and the import then completes.
   */
  @Test
  void aStreamedImportLeavesTheSrFreeWhileItWaitsForInput() throws Exception {
    Path xva = dir.resolve("web.xva");
    Cli.run("vm-export", "--sr", sr, "vm=web", "filename=" + xva).ok();
    byte[] archive = Files.readAllBytes(xva);
    Process p =
        new ProcessBuilder(Cli.ownJvm("vm-import", "--sr", sr, "filename=-"))
            .redirectErrorStream(true)
            .start();
    try (java.io.OutputStream in = p.getOutputStream()) {
      in.write(archive, 0, archive.length / 2);
      in.flush();
      Thread.sleep(1500); // the importer is reading, then waiting for the rest
      Cli.run("vdi-create", "--sr", sr, "--no-wait", "name-label=meanwhile", "virtual-size=1M")
          .ok();
      assertThat(Cli.run("vm-list", "--sr", sr, "--minimal").ok().out().trim()).isEqualTo(vm);
      in.write(archive, archive.length / 2, archive.length - archive.length / 2);
    }
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    String imported = out.trim();
    assertThat(Cli.run("vm-list", "--sr", sr, "--minimal").ok().out()).contains(imported, vm);
    assertThat(Cli.run("vdi-list", "--sr", sr, "name-label=meanwhile", "--minimal").ok().out())
        .isNotBlank();
    try (var files = Files.list(Path.of(sr))) {
      assertThat(files).noneMatch(io.vdisk.engine.io.TempFiles::isTemp);
    }
  }

  @Test
  void anExportToAFullDiskFailsThroughStdoutAndThroughAFile() throws Exception {
    Proc p = sh(vdisk() + "vm-export --sr " + sr + " vm=web filename=- > " + full.resolve("a.xva"));
    assertThat(p.exit()).as(p.out()).isEqualTo(ExitCode.IO);
    assertThat(p.out().trim())
        .isEqualTo("vdisk: stdout: No space left on device; the output is incomplete");
    Proc f = sh(vdisk() + "vm-export --sr " + sr + " vm=web filename=" + full.resolve("b.xva"));
    assertThat(f.exit()).as(f.out()).isEqualTo(ExitCode.IO);
    assertThat(f.out().trim().lines()).hasSize(1);
    try (Stream<Path> s = Files.list(full)) {
      assertThat(s.map(x -> x.getFileName().toString()))
          .as("no archive and no temporary file")
          .containsExactly("a.xva");
    }
  }

  @Test
  void anExportIntoAClosedPipeFails() throws Exception {
    Proc p =
        sh(
            vdisk()
                + "vm-export --sr "
                + sr
                + " vm=web filename=- | head -c 1000 > /dev/null;"
                + " echo \"exit ${PIPESTATUS[0]}\"");
    assertThat(p.out()).contains("exit 3").contains("vdisk: stdout: the reader closed the pipe");
    Proc r =
        sh(
            vdisk()
                + "vdi-export --sr "
                + sr
                + " uuid="
                + vdi
                + " filename=- | head -c 10 > /dev/null;"
                + " echo \"exit ${PIPESTATUS[0]}\"");
    assertThat(r.out()).contains("exit 3");
  }

  @Test
  void importsReadPipesAndStdin() throws Exception {
    Proc.ok(dir, "bash", "-c", vdisk() + "vm-export --sr " + sr + " vm=web filename=vm.xva");
    String dst = dir.resolve("dst").toString();
    Proc a = sh(vdisk() + "vm-import --sr " + dst + " filename=/dev/stdin < vm.xva");
    assertThat(a.exit()).as(a.out()).isZero();
    Proc b = sh("cat vm.xva | " + vdisk() + "vm-import --sr " + dst + " filename=-");
    assertThat(b.exit()).as(b.out()).isZero();
    Proc c = sh("gzip -c vm.xva | " + vdisk() + "vm-import --sr " + dst + " filename=/dev/stdin");
    assertThat(c.exit()).as(c.out()).isZero();
    for (String line :
        Cli.run("vdi-list", "--sr", dst, "--minimal").ok().out().trim().split(",", -1)) {
      Path imported = dir.resolve("imp-" + line + ".raw");
      Cli.run("vdi-export", "--sr", dst, "uuid=" + line, "filename=" + imported).ok();
      Path orig = dir.resolve("orig.raw");
      if (!Files.exists(orig)) {
        Cli.run("vdi-export", "--sr", sr, "uuid=" + vdi, "filename=" + orig).ok();
      }
      assertThat(Files.mismatch(imported, orig)).as(line).isEqualTo(-1);
    }
  }

  @Test
  void vdiAndConvertStreamsAreReadByQemu() throws Exception {
    Proc.ok(
        dir,
        "bash",
        "-c",
        vdisk() + "vdi-export --sr " + sr + " uuid=" + vdi + " filename=file.raw");
    Proc raw = sh(vdisk() + "vdi-export --sr " + sr + " uuid=" + vdi + " filename=- > s.raw");
    assertThat(raw.exit()).as(raw.out()).isZero();
    assertThat(Files.mismatch(dir.resolve("s.raw"), dir.resolve("file.raw"))).isEqualTo(-1);
    Proc vhd =
        sh(
            vdisk()
                + "vdi-export --sr "
                + sr
                + " uuid="
                + vdi
                + " format=vhd filename=- | cat > s.vhd");
    assertThat(vhd.exit()).as(vhd.out()).isZero();
    Proc.ok(dir, "qemu-img", "compare", "-f", "vpc", "-F", "raw", "s.vhd", "file.raw");
    Proc conv =
        sh(
            vdisk()
                + "convert -O vhd s.vhd - | cat > c.vhd && "
                + vdisk()
                + "convert -O raw c.vhd - > c.raw");
    assertThat(conv.exit()).as(conv.out()).isZero();
    assertThat(Files.mismatch(dir.resolve("c.raw"), dir.resolve("file.raw"))).isEqualTo(-1);
    Proc.ok(dir, "qemu-img", "compare", "-f", "vpc", "-F", "raw", "c.vhd", "file.raw");
    Cli.run("check", dir.resolve("c.vhd").toString()).ok();
    // qemu's own VHD, piped into vdi-import format=vhd
    Proc.ok(
        dir,
        "qemu-img",
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=dynamic",
        "file.raw",
        "q.vhd");
    Proc imp =
        sh(
            "cat q.vhd | "
                + vdisk()
                + "vdi-import --sr "
                + sr
                + " uuid="
                + vdi
                + " format=vhd filename=-");
    assertThat(imp.exit()).as(imp.out()).isZero();
    Proc.ok(
        dir,
        "bash",
        "-c",
        vdisk() + "vdi-export --sr " + sr + " uuid=" + vdi + " filename=back.raw");
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "vpc", "back.raw", "q.vhd");
  }
}
