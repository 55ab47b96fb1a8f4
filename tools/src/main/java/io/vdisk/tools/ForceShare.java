package io.vdisk.tools;

import io.vdisk.engine.io.StorageProvider;
import picocli.CommandLine.Option;

/** qemu-img's {@code -U}: read an image without its lock, accepting that a writer may change it. */
final class ForceShare {
  @Option(
      names = {"-U", "--force-share"},
      description =
          "Read without taking the image's lock (qemu-img -U): works while another process"
              + " writes it, and may then see changing data.")
  boolean forceShare;

  StorageProvider.Access readAccess() {
    return forceShare ? StorageProvider.Access.PEEK : StorageProvider.Access.READ;
  }
}
