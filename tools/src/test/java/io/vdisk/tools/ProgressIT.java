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
    return Cli.jar();
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

  @Test
  void everyLongSrVerbShowsProgressOnATerminalAndJsonLinesWhenAsked() throws Exception {
    String sr = "--sr=" + dir.resolve("sr");
    java.nio.file.Files.createDirectories(dir.resolve("sr"));
    Cli.run("sr-create", sr).ok();
    String disk = Cli.run("vdi-create", sr, "name-label=d", "virtual-size=48M").ok().out().trim();
    Cli.run("io", dir.resolve("sr").resolve(disk + ".vhd").toString(), "-c", "write -P 3 0 8M")
        .ok();
    String vm = Cli.run("vm-create", sr, "name-label=vm").ok().out().trim();
    Cli.run("vbd-create", sr, "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0").ok();
    String v = "java -jar " + jar() + " ";
    String s = " --sr=" + dir.resolve("sr") + " ";
    for (String line :
        java.util.List.of(
            "vm-export" + s + "vm=vm filename=vm.xva",
            "vm-import" + s + "filename=vm.xva",
            "vm-copy" + s + "vm=" + vm + " new-name-label=copy",
            "vdi-copy" + s + "uuid=" + disk,
            "vdi-export" + s + "uuid=" + disk + " filename=d.raw format=raw",
            "vdi-import" + s + "uuid=" + disk + " filename=d.raw format=raw")) {
      String verb = line.substring(0, line.indexOf(' '));
      Proc tty = Proc.ok(dir, "script", "-qec", v + line, "/dev/null");
      assertThat(tty.out()).as(line).contains("\r" + verb + " [").contains("100% 48.0 MiB/");
      if (verb.equals("vm-export")) {
        String stream = v + "vm-export" + s + "vm=vm filename=-";
        Proc pipe = Proc.ok(dir, "sh", "-c", stream + " 2>&1 >/dev/null | cat");
        assertThat(pipe.out()).as("in a pipe").doesNotContain("\r", "\u001b[", "%");
        Proc json = Proc.ok(dir, "sh", "-c", stream + " --json progress=true 2>&1 >/dev/null");
        assertThat(json.out())
            .as("JSON progress lines")
            .contains("{\"progress\":{\"verb\":\"vm-export\",\"done\":50331648,\"total\":50331648");
      }
    }
  }
}
