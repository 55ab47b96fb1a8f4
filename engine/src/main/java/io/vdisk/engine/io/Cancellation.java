package io.vdisk.engine.io;

import java.io.InterruptedIOException;

/**
 * A request to stop long work (SIGINT, SIGTERM): copies, exports and imports call {@link
 * #checkpoint} between pieces and fail there with {@link Cancelled}, so that their ordinary failure
 * path runs (temporary files removed, the journal rolled back) with every file still open, rather
 * than a thread interrupt closing channels under them.
 */
public final class Cancellation {
  private static volatile String requested;

  private Cancellation() {}

  /** Asks every running operation to stop at its next checkpoint; {@code why} names the signal. */
  public static void request(String why) {
    requested = why;
  }

  public static boolean requested() {
    return requested != null;
  }

  /** Throws {@link Cancelled} once a stop was requested. */
  public static void checkpoint() throws Cancelled {
    String why = requested;
    if (why != null) {
      throw new Cancelled(why);
    }
  }

  /** Long work stopped on request. */
  public static final class Cancelled extends InterruptedIOException {
    private static final long serialVersionUID = 1L;

    Cancelled(String why) {
      super("interrupted (" + why + ")");
    }
  }
}
