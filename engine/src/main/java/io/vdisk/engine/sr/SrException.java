package io.vdisk.engine.sr;

import java.io.IOException;

/** The repository refuses a request: an unknown or ambiguous object, a rule, a lock held. */
public class SrException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Why the request was refused. */
  public enum Kind {
    NOT_FOUND,
    AMBIGUOUS,
    IN_USE,
    READ_ONLY,
    LOCKED,
    /** The SR's mount keeps locks on this host only, and writes could meet another host's. */
    UNSAFE_MOUNT,
    INVALID
  }

  private final Kind kind;

  public SrException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
