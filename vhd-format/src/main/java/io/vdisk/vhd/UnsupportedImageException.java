package io.vdisk.vhd;

import java.io.IOException;

/**
 * An image that is well formed but uses something vdisk does not support or refuses on purpose:
 * sizes above 2040 GiB, unknown disk types, block sizes that are not a power of two.
 */
public class UnsupportedImageException extends IOException {
  private static final long serialVersionUID = 1L;

  public UnsupportedImageException(String message) {
    super(message);
  }
}
