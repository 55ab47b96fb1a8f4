package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release artifacts that {@code mvn package} builds, used as an operator would: the tarball
 * unpacked elsewhere and its launcher run through a symbolic link in PATH, and the .deb unpacked
 * into a scratch root and run from its {@code /usr/bin}; neither with Maven or the source tree.
 */
class ReleaseIT {
  @TempDir Path dir;

  private static final String VERSION = System.getProperty("vdisk.version");

  private static Path target() {
    return Path.of("target").toAbsolutePath();
  }

  /** Runs {@code sh -c script} in {@code dir} with PATH holding only {@code bin} and the system. */
  private Proc sh(Path bin, String script) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).directory(dir.toFile());
    pb.environment().put("PATH", bin + ":/usr/local/bin:/usr/bin:/bin");
    pb.environment().put("HOME", dir.resolve("home").toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(script + ":\n" + out).isZero();
    return new Proc(0, out);
  }

  private void versionAndCreate(Path bin) throws Exception {
    String version = sh(bin, "vdisk --version").out();
    assertThat(version).as("the POM's version and the commit").startsWith("vdisk " + VERSION);
    assertThat(version).containsPattern("\\(commit [0-9a-f]{12}\\)");
    sh(bin, "vdisk create --size 16M made.vhd && vdisk info made.vhd");
    assertThat(Proc.ok(dir, "qemu-img", "info", "-f", "vpc", "made.vhd").out())
        .contains("virtual size: 16 MiB");
    Files.delete(dir.resolve("made.vhd"));
  }

  @Test
  void theTarballRunsFromAnotherDirectoryThroughASymlink() throws Exception {
    Path tarball = target().resolve("vdisk-" + VERSION + ".tar.gz");
    assertThat(tarball).exists();
    Path opt = Files.createDirectories(dir.resolve("opt"));
    Proc.ok(opt, "tar", "xzf", tarball.toString());
    Path home = opt.resolve("vdisk-" + VERSION);
    for (String f :
        new String[] {
          "bin/vdisk",
          "lib/vdisk-all.jar",
          "share/man/man1/vdisk.1",
          "share/bash-completion/completions/vdisk",
          "README.md"
        }) {
      assertThat(home.resolve(f)).as(f).exists();
    }
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.createSymbolicLink(bin.resolve("vdisk"), home.resolve("bin/vdisk"));
    versionAndCreate(bin);
    // the man page names every verb; the completion knows them too
    String man = Files.readString(home.resolve("share/man/man1/vdisk.1"));
    String completion = Files.readString(home.resolve("share/bash-completion/completions/vdisk"));
    for (String verb : Main.commandLine().getSubcommands().keySet()) {
      if (!verb.equals("help")) {
        assertThat(man).as("man page: " + verb).contains(".SS " + verb.replace("-", "\\-") + "\n");
        assertThat(completion).as("completion: " + verb).contains(verb);
      }
    }
    Proc complete =
        sh(
            bin,
            "bash -c '. "
                + home.resolve("share/bash-completion/completions/vdisk")
                + " && complete -p vdisk'");
    assertThat(complete.out()).contains("vdisk");
  }

  @Test
  void theDebInstallsIntoAScratchRootAndRuns() throws Exception {
    Path deb = target().resolve("vdisk_" + VERSION.replace('-', '~') + "_all.deb");
    assertThat(deb).exists();
    String info = Proc.ok(dir, "dpkg-deb", "--info", deb.toString()).out();
    assertThat(info)
        .contains("Package: vdisk")
        .contains("Version: " + VERSION.replace('-', '~'))
        .contains("Depends: openjdk-17-jre-headless | java17-runtime-headless, libfuse2");
    Path root = dir.resolve("root");
    Proc.ok(dir, "dpkg-deb", "-x", deb.toString(), root.toString());
    assertThat(Files.isSymbolicLink(root.resolve("usr/bin/vdisk"))).isTrue();
    assertThat(root.resolve("usr/share/man/man1/vdisk.1.gz")).exists();
    assertThat(root.resolve("usr/share/bash-completion/completions/vdisk")).exists();
    versionAndCreate(root.resolve("usr/bin"));
  }
}
