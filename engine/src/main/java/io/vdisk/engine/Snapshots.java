package io.vdisk.engine;

import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.VhdLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;

/** Differencing children: a new empty leaf over an existing image. */
public final class Snapshots {
  private Snapshots() {}

  /**
   * Creates {@code child} as an empty differencing image over {@code parent}: same size and block
   * size, the parent's UUID, name, timestamp and relative MacX/W2ku/W2ru locators. The parent's
   * chain is opened first, so a broken parent is refused before anything is written.
   */
  public static void createChild(Path parent, Path child) throws IOException {
    try (DiskChain p = DiskChain.open(parent, true)) {
      VhdImage top = p.leaf();
      int bs = top.isFixed() ? VhdLayout.DEFAULT_BLOCK_SIZE : top.blockSize();
      VhdCreator.Spec spec =
          new VhdCreator.Spec(
              DiskType.DIFFERENCING, top.size(), bs, UUID.randomUUID(), Instant.now());
      VhdCreator.createDifferencing(
          StorageProvider.FILES, child, spec, VhdCreator.linkTo(child, parent, top.footer()));
    }
  }
}
