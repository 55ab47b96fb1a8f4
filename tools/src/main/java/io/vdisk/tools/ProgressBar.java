package io.vdisk.tools;

import io.vdisk.engine.Progress;
import java.io.PrintWriter;

/**
 * Progress of a long verb on stderr. By default a one-line bar, drawn only when stderr itself is a
 * terminal (pipes, files and logs get none, whatever stdin and stdout are), redrawn at most ten
 * times a second: bytes done of the total, throughput and time left, each redraw clearing the rest
 * of the line; the summary that follows starts on a line of its own. Forced ({@code progress=true},
 * {@code -p}), it also reports where stderr is not a terminal, as plain lines once a second; with
 * {@code --json} each report is a JSON line, {@code {"progress":{"verb":…,"done":…,"total":…}}},
 * for scripts. {@code VDISK_NO_PROGRESS} turns the default bar off. Work in several phases (one per
 * disk) starts a new bar for each.
 */
final class ProgressBar implements Progress, AutoCloseable {
  private static final int WIDTH = 30;
  private static final String CLEAR_TO_EOL = "\033[K";

  /** How the reports look. */
  enum Mode {
    OFF,
    BAR,
    LINES,
    JSON
  }

  private final PrintWriter err;
  private final String label;
  private final Mode mode;
  private long started = System.nanoTime();
  private long lastDraw;
  private boolean drawn;
  private boolean finished;

  ProgressBar(PrintWriter err, String label) {
    this(err, label, false, false);
  }

  ProgressBar(PrintWriter err, String label, boolean forced, boolean json) {
    this.err = err;
    this.label = label;
    boolean terminal = stderrIsTerminal();
    if (json && (forced || terminal)) {
      this.mode = Mode.JSON;
    } else if (terminal && (forced || System.getenv("VDISK_NO_PROGRESS") == null)) {
      this.mode = Mode.BAR;
    } else {
      this.mode = forced ? Mode.LINES : Mode.OFF;
    }
  }

  Mode mode() {
    return mode;
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
    if (mode == Mode.OFF) {
      return;
    }
    long now = System.nanoTime();
    if (finished) {
      if (done >= total) {
        return;
      }
      finished = false; // the next phase (disk) of the same verb
      started = now;
      lastDraw = 0;
    }
    long every = mode == Mode.BAR ? 100_000_000L : 1_000_000_000L;
    if (now - lastDraw < every && done < total) {
      return;
    }
    lastDraw = now;
    int pct = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
    double secs = Math.max(1e-3, (now - started) / 1e9);
    double rate = done / secs;
    long left = done >= total || rate <= 0 ? -1 : (long) ((total - done) / rate);
    switch (mode) {
      case JSON ->
          err.printf(
              "{\"progress\":{\"verb\":\"%s\",\"done\":%d,\"total\":%d,\"rate\":%d%s}}%n",
              label, done, total, (long) rate, left < 0 ? "" : ",\"eta-seconds\":" + left);
      case LINES ->
          err.printf(
              "%s: %3d%% %s/%s %s/s%s%n",
              label,
              pct,
              Sizes.human(done),
              Sizes.human(total),
              Sizes.human((long) rate),
              left < 0 ? "" : " ETA " + clock(left));
      default -> {
        int fill = pct * WIDTH / 100;
        err.printf(
            "\r%s [%s%s] %3d%% %s/%s %s/s%s%s",
            label,
            "#".repeat(fill),
            " ".repeat(WIDTH - fill),
            pct,
            Sizes.human(done),
            Sizes.human(total),
            Sizes.human((long) rate),
            left < 0 ? "" : " ETA " + clock(left),
            CLEAR_TO_EOL);
        drawn = true;
      }
    }
    if (done >= total) {
      if (drawn) {
        err.println(); // whatever follows (the summary) starts on its own line
      }
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
