package io.vdisk.engine.io;

import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.image.VhdImage;
import java.nio.file.AccessDeniedException;

/**
 * A write to a disk or image that was opened read-only: every {@link VirtualDisk} and {@link
 * VhdImage} refuses it with this exception before touching anything (exit 3 on the command line,
 * {@code EROFS} through FUSE).
 */
public final class ReadOnlyDiskException extends AccessDeniedException {
  private static final long serialVersionUID = 1L;

  public ReadOnlyDiskException(String disk) {
    super(disk, null, "opened read-only");
  }

  public ReadOnlyDiskException(String disk, String reason) {
    super(disk, null, reason);
  }
}
