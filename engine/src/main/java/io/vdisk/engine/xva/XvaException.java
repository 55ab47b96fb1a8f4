package io.vdisk.engine.xva;

import java.io.IOException;

/** An archive that is not a valid XVA: the message names the entry, the field or the block. */
public class XvaException extends IOException {
  private static final long serialVersionUID = 1L;

  public XvaException(String message) {
    super(message);
  }

  public XvaException(String message, Throwable cause) {
    super(message, cause);
  }
}
