package io.vdisk.vhd;

import java.io.IOException;

/**
 * A structure of an image is damaged: a bad cookie or checksum, an offset outside the file, an
 * impossible count. The message says what, where, and expected vs found.
 */
public class CorruptImageException extends IOException {
  private static final long serialVersionUID = 1L;

  public CorruptImageException(String message) {
    super(message);
  }

  public CorruptImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
