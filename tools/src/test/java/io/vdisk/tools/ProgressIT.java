package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The progress bar appears when stderr is a terminal (a pseudo-terminal made by {@code script}),
 * and never in a pipe or a log, whatever stdin and stdout are.
 */
class ProgressIT {
  @TempDir Path dir;

  private String jar() {
    return Path.of("target/vdisk-all.jar").toAbsolutePath().toString();
  }

  @Test
  void aTerminalGetsABarAndAPipeGetsNone() throws Exception {
    Cli.run("create", "--size", "64M", dir.resolve("a.vhd").toString()).ok();
    Cli.run("io", dir.resolve("a.vhd").toString(), "-c", "write -P 0x5a 0 16M").ok();
    String convert = "java -jar " + jar() + " convert -O raw a.vhd ";
    Proc tty = Proc.ok(dir, "script", "-qec", convert + "t.raw", "/dev/null");
    assertThat(tty.out())
        .contains("\rconvert [")
        .contains("100% 64.0 MiB/64.0 MiB")
        .contains("\u001b[K")
        .contains("\nConverted a.vhd to t.raw");
    Proc pipe = Proc.ok(dir, "sh", "-c", convert + "p.raw 2>&1 | cat");
    assertThat(pipe.out()).doesNotContain("\r").doesNotContain("\u001b[").contains("Converted");
  }
}
