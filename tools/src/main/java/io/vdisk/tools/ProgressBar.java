package io.vdisk.tools;

import io.vdisk.engine.Progress;
import java.io.PrintWriter;

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (scripts and logs get
 * none), redrawn at most ten times a second.
 */
final class ProgressBar implements Progress, AutoCloseable {
  private static final int WIDTH = 30;

  private final PrintWriter err;
  private final String label;
  private final boolean enabled;
  private final long started = System.nanoTime();
  private long lastDraw;
  private boolean drawn;

  // JDK 17: console() is null unless stdin and stdout are a terminal (JDK 22 changed that; use
  // Console.isTerminal() there).
  @SuppressWarnings("SystemConsoleNull")
  ProgressBar(PrintWriter err, String label) {
    this.err = err;
    this.label = label;
    this.enabled = System.console() != null && System.getenv("VDISK_NO_PROGRESS") == null;
  }

  @Override
  public void update(long done, long total) {
    if (!enabled) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastDraw < 100_000_000L && done < total) {
      return;
    }
    lastDraw = now;
    int pct = total == 0 ? 100 : (int) (done * 100 / total);
    int fill = pct * WIDTH / 100;
    double secs = Math.max(1e-3, (now - started) / 1e9);
    err.printf(
        "\r%s [%s%s] %3d%% %s/s",
        label, "#".repeat(fill), " ".repeat(WIDTH - fill), pct, Sizes.human((long) (done / secs)));
    err.flush();
    drawn = true;
  }

  @Override
  public void close() {
    if (drawn) {
      err.println();
      err.flush();
    }
  }
}
