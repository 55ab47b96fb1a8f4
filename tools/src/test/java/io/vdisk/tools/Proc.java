package io.vdisk.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a real tool (qemu-img, vhdiinfo, ...) and captures its output. */
record Proc(int exit, String out) {
  static Proc run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(List.of(cmd)).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] bytes = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + String.join(" ", cmd));
    }
    return new Proc(p.exitValue(), new String(bytes, StandardCharsets.UTF_8));
  }

  static Proc ok(Path dir, String... cmd) throws IOException, InterruptedException {
    Proc r = run(dir, cmd);
    if (r.exit != 0) {
      throw new AssertionError(String.join(" ", cmd) + " exited " + r.exit + ":\n" + r.out);
    }
    return r;
  }
}
