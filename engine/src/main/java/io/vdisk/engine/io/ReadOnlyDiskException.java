package io.vdisk.engine.io;

import java.nio.file.AccessDeniedException;

/**
 * A write to a disk or image that was opened read-only: every {@link io.vdisk.engine.VirtualDisk}
 * and {@link io.vdisk.engine.image.VhdImage} refuses it with this exception before touching
 * anything (exit 3 on the command line, {@code EROFS} through FUSE).
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
