package io.vdisk.engine.io;

import java.io.IOException;

/**
 * The engine refuses to open or change an image (exit 6 on the command line, {@code EBUSY} or
 * {@code EROFS} through FUSE): it is in use by another opener, or it is one that others read
 * through (a hidden base copy, a parent another image names, an SR's read-only VDI).
 */
public final class ImageRefusedException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Why. */
  public enum Reason {
    /** Another process (or opener) holds the image's lock. */
    IN_USE,
    /** Other images read through it: a hidden base copy or a parent of another image. */
    SHARED_BASE,
    /** A snapshot's, a template's or a base copy's VDI, or a file an SR owns. */
    READ_ONLY_VDI
  }

  private final String file;
  private final Reason reason;

  public ImageRefusedException(String file, Reason reason, String why) {
    super(file + ": " + why);
    this.file = file;
    this.reason = reason;
  }

  public String file() {
    return file;
  }

  public Reason reason() {
    return reason;
  }
}
