package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real processes on one SR: a second writer is refused at once; kill -9 is finished next time. */
class SrProcessIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private String jar() {
    return Cli.jar();
  }

  private Proc vdisk(String... args) throws Exception {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "java";
    cmd[1] = "-jar";
    cmd[2] = jar();
    System.arraycopy(args, 0, cmd, 3, args.length);
    return Proc.run(dir, cmd);
  }

  @Test
  void aSecondWriterIsRefusedNamingTheHolder() throws Exception {
    Path sr = dir.resolve("sr");
    try (var held = io.vdisk.engine.sr.StorageRepository.create(sr, "vm-copy (test)")) {
      Proc second =
          vdisk(
              "vdi-create", "--no-wait", "--sr", sr.toString(), "name-label=x", "virtual-size=8M");
      assertThat(second.exit()).isEqualTo(ExitCode.REFUSED);
      assertThat(second.out())
          .contains(" pid " + ProcessHandle.current().pid() + ": vdisk vm-copy (test) since")
          .contains("vm-copy (test)");
      assertThat(held.vdis()).isEmpty();
    }
    assertThat(vdisk("vdi-create", "--sr", sr.toString(), "name-label=x", "virtual-size=8M").exit())
        .isZero();
  }

  @Test
  void aWriterWaitsForTheLockAndSaysWhomItWaitsFor() throws Exception {
    Path sr = dir.resolve("sr");
    io.vdisk.engine.sr.StorageRepository.create(sr, "setup").close();
    Process p;
    var held = io.vdisk.engine.sr.StorageRepository.open(sr, true, "vm-copy (test)");
    try {
      p =
          new ProcessBuilder(
                  "java",
                  "-jar",
                  jar(),
                  "vdi-create",
                  "--wait",
                  "60",
                  "--sr",
                  sr.toString(),
                  "name-label=x",
                  "virtual-size=8M")
              .redirectErrorStream(true)
              .start();
      // The waiting line comes once the second process found the lock taken.
      var lines =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
      String first = lines.readLine();
      assertThat(first)
          .startsWith("vdisk: waiting up to 60 s for SR " + sr.toAbsolutePath())
          .contains("vdisk vm-copy (test) since");
      assertThat(p.isAlive()).isTrue();
      held.close();
      held = null;
      assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      String uuid = lines.readLine();
      assertThat(p.exitValue()).as(uuid).isZero();
      assertThat(uuid).matches("[0-9a-f-]{36}");
    } finally {
      if (held != null) {
        held.close();
      }
    }
  }

  @Test
  void killMinus9DuringVmCopyIsFinishedOrUndoneByTheNextCommand() throws Exception {
    Path sr = dir.resolve("sr");
    String disk =
        vdisk("vdi-create", "--sr", sr.toString(), "name-label=big", "virtual-size=512M")
            .out()
            .trim();
    Proc.ok(
        dir,
        "java",
        "-jar",
        jar(),
        "io",
        sr.resolve(disk + ".vhd").toString(),
        "-c",
        "write -P 0x5a 0 256M");
    String vm = vdisk("vm-create", "--sr", sr.toString(), "name-label=src").out().trim();
    vdisk("vbd-create", "--sr", sr.toString(), "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0");
    Proc.ok(
        dir,
        "java",
        "-jar",
        jar(),
        "convert",
        "-O",
        "raw",
        sr.resolve(disk + ".vhd").toString(),
        dir.resolve("before.raw").toString());
    for (int delay : List.of(150, 400, 700, 1200)) {
      Process p =
          new ProcessBuilder(
                  "java",
                  "-jar",
                  jar(),
                  "vm-copy",
                  "--sr",
                  sr.toString(),
                  "vm=" + vm,
                  "new-name-label=copy-" + delay)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("copy.log").toFile())
              .start();
      Thread.sleep(delay);
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
      assertThat(vdisk("sr-scan", "--sr", sr.toString()).out())
          .as("after kill at %d ms", delay)
          .contains("agree");
      JsonNode vdis =
          JSON.readTree(vdisk("vdi-list", "--sr", sr.toString(), "--json", "params=all").out());
      for (JsonNode v : vdis) {
        assertThat(v.has("problem")).as("%s after kill at %d ms", v, delay).isFalse();
        if (v.get("managed").asBoolean()) {
          Path f = sr.resolve(v.get("uuid").asText() + ".vhd");
          assertThat(vdisk("compare", f.toString(), dir.resolve("before.raw").toString()).exit())
              .as("%s after kill at %d ms", v, delay)
              .isZero();
        }
      }
      try (var files = Files.list(sr)) {
        assertThat(files.map(Path::getFileName).map(Path::toString))
            .noneMatch(n -> n.startsWith("."));
      }
    }
  }
}
