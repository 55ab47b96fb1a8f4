package io.vdisk.engine;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
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
    createChild(StorageProvider.FILES, parent, child);
  }

  public static void createChild(StorageProvider provider, Path parent, Path child)
      throws IOException {
    try (DiskChain p = DiskChain.open(parent, true, provider)) {
      VhdImage top = p.leaf();
      int bs = top.isFixed() ? VhdLayout.DEFAULT_BLOCK_SIZE : top.blockSize();
      VhdCreator.Spec spec =
          new VhdCreator.Spec(
              DiskType.DIFFERENCING, top.size(), bs, UUID.randomUUID(), Instant.now());
      VhdCreator.createDifferencing(
          provider, child, spec, VhdCreator.linkTo(child, parent, top.footer()));
    }
  }

  /**
   * Snapshots {@code image} in place, as XenServer's file SR does: its bytes become a hidden,
   * read-only base next to it, and a new empty differencing leaf over that base takes the name.
   * Returns the base's path ({@code <stem>-base-<8 hex>.vhd}).
   *
   * <p>Crash safety: (1) hard-link the image to the base name; (2) create the child under a
   * temporary name and fsync it; (3) rename the child over the image; (4) set the base's hidden
   * flag. Before (3) the name holds the original image, after it the complete child; a crash can
   * leave only an extra link to the original bytes or an unused temporary child. Where hard links
   * are not supported the image is renamed to the base name instead, and between (1) and (3) the
   * name is briefly absent.
   */
  public static Path snapshotInPlace(StorageProvider provider, Path image) throws IOException {
    Path abs = image.toAbsolutePath().normalize();
    // Taking the writer's lock proves no one has it open; the rule refuses a base, a parent, or
    // an SR's VDI (vdi-snapshot does that one).
    try (DiskChain c =
        DiskChain.open(abs, StorageProvider.Access.WRITE, provider, null, WriteRule.Grant.USER)) {
      c.flush();
    }
    String name = abs.getFileName().toString();
    String stem = name.endsWith(".vhd") ? name.substring(0, name.length() - 4) : name;
    Path base =
        abs.resolveSibling(stem + "-base-" + UUID.randomUUID().toString().substring(0, 8) + ".vhd");
    try {
      provider.link(base, abs);
    } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
      provider.move(abs, base);
    }
    Publisher.publish(
        provider,
        abs,
        "snapshot",
        true,
        tmp -> {
          createChild(provider, base, tmp);
          return null;
        });
    try (VhdImage b = VhdImage.open(provider.open(base, false), false)) {
      b.setHidden(true);
    }
    return base;
  }
}
