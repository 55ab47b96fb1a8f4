package io.vdisk.engine.io;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * How long a verb waits for an SR or VDI lock another process holds (xapi's storage manager queues
 * on its locks too): 60 s unless the command line says otherwise ({@code --wait SECONDS}, {@code
 * --no-wait}), and who is told that it waits (the command line prints one line on stderr).
 * Process-wide settings, made once at start-up.
 */
public final class LockWait {
  private static volatile Duration limit = Duration.ZERO;
  private static volatile Consumer<String> notice = m -> {};

  private LockWait() {}

  public static Duration limit() {
    return limit;
  }

  public static void setLimit(Duration d) {
    if (d.isNegative()) {
      throw new IllegalArgumentException("a negative wait");
    }
    limit = d;
  }

  /** Where "waiting for …" goes (once per lock waited for). */
  public static void onWait(Consumer<String> c) {
    notice = c;
  }

  static void tell(String message) {
    notice.accept(message);
  }

  /**
   * Sleeps before the {@code attempt}-th retry: 50 ms doubling to 1 s, so that a lock released at
   * once is taken at once and a long wait costs the server one request a second.
   */
  static void pause(int attempt) throws java.io.InterruptedIOException {
    try {
      Thread.sleep(Math.min(1000L, 50L << Math.min(attempt, 5)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for a lock");
    }
  }
}
