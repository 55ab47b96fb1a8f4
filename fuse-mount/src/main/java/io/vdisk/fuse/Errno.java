package io.vdisk.fuse;

import io.vdisk.engine.sr.SrException;
import io.vdisk.vhd.CorruptImageException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** The one place where exceptions become errno values for FUSE (negated, as libfuse wants). */
final class Errno {
  private Errno() {}

  static int of(Throwable t) {
    if (t instanceof NoSuchFileException) {
      return -jnr.constants.platform.Errno.ENOENT.intValue();
    }
    if (t instanceof AccessDeniedException
        || (t instanceof SrException s && s.kind() == SrException.Kind.READ_ONLY)) {
      return -jnr.constants.platform.Errno.EROFS.intValue();
    }
    if (t instanceof IllegalArgumentException) {
      return -jnr.constants.platform.Errno.EINVAL.intValue();
    }
    if (t instanceof CorruptImageException || t instanceof IOException) {
      return -jnr.constants.platform.Errno.EIO.intValue();
    }
    return -jnr.constants.platform.Errno.EIO.intValue();
  }
}
