package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code vdisk serve} in a JVM of its own, ready once it has printed its exports' URIs. */
final class Served {
  private Served() {}

  /**
   * Starts {@code vdisk serve ARGS} in {@code dir}, its stdout in {@code NAME.out} and stderr in
   * {@code NAME.err}, and waits until it prints (it listens then); fails if it dies first.
   */
  static Process start(Path dir, String name, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Cli.ownJvm("serve")));
    cmd.addAll(List.of(args));
    Path out = dir.resolve(name + ".out");
    Path err = dir.resolve(name + ".err");
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    for (int i = 0; i < 600 && (!Files.exists(out) || Files.size(out) == 0); i++) {
      assertThat(p.isAlive()).as(Files.exists(err) ? Files.readString(err) : "").isTrue();
      Thread.sleep(50);
    }
    assertThat(Files.readString(out)).as("serve printed its URIs").isNotEmpty();
    return p;
  }
}
