package io.vdisk.tools;

import io.vdisk.engine.Progress;
import java.io.PrintWriter;

/**
 * A one-line progress bar on stderr, drawn only when stderr itself is a terminal (pipes, files and
 * logs get none, whatever stdin and stdout are), redrawn at most ten times a second: bytes done of
 * the total, throughput and time left, each redraw clearing the rest of the line; the summary that
 * follows starts on a line of its own. {@code VDISK_NO_PROGRESS} turns it off.
 */
final class ProgressBar implements Progress, AutoCloseable {
  private static final int WIDTH = 30;
  private static final String CLEAR_TO_EOL = "\033[K";

  private final PrintWriter err;
  private final String label;
  private final boolean enabled;
  private final long started = System.nanoTime();
  private long lastDraw;
  private boolean drawn;
  private boolean finished;

  ProgressBar(PrintWriter err, String label) {
    this.err = err;
    this.label = label;
    this.enabled = stderrIsTerminal() && System.getenv("VDISK_NO_PROGRESS") == null;
  }

  /** Whether file descriptor 2 is a terminal: a pseudo-terminal, a virtual console or a tty. */
  static boolean stderrIsTerminal() {
    try {
      String target =
          java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/")
          || target.startsWith("/dev/tty")
          || target.equals("/dev/console");
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public void update(long done, long total) {
    if (!enabled || finished) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastDraw < 100_000_000L && done < total) {
      return;
    }
    lastDraw = now;
    int pct = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
    int fill = pct * WIDTH / 100;
    double secs = Math.max(1e-3, (now - started) / 1e9);
    double rate = done / secs;
    String eta = done >= total || rate <= 0 ? "" : " ETA " + clock((long) ((total - done) / rate));
    err.printf(
        "\r%s [%s%s] %3d%% %s/%s %s/s%s%s",
        label,
        "#".repeat(fill),
        " ".repeat(WIDTH - fill),
        pct,
        Sizes.human(done),
        Sizes.human(total),
        Sizes.human((long) rate),
        eta,
        CLEAR_TO_EOL);
    drawn = true;
    if (done >= total) {
      err.println(); // whatever follows (the summary) starts on its own line
      drawn = false;
      finished = true;
    }
    err.flush();
  }

  private static String clock(long seconds) {
    return seconds >= 3600
        ? String.format(
            java.util.Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format(java.util.Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
  }

  @Override
  public void close() {
    if (drawn) {
      err.println();
      err.flush();
    }
  }
}
