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
    createChild(provider, parent, child, UUID.randomUUID());
  }

  /** As above, the child's footer UUID given (commit keeps the emptied image's). */
  public static void createChild(StorageProvider provider, Path parent, Path child, UUID id)
      throws IOException {
    try (DiskChain p = DiskChain.open(parent, true, provider)) {
      VhdImage top = p.leaf();
      int bs = top.isFixed() ? VhdLayout.DEFAULT_BLOCK_SIZE : top.blockSize();
      VhdCreator.Spec spec =
          new VhdCreator.Spec(DiskType.DIFFERENCING, top.size(), bs, id, Instant.now());
      VhdCreator.createDifferencing(
          provider, child, spec, VhdCreator.linkTo(child, parent, top.footer()));
    }
  }

  /**
   * qemu-img rebase: points the differencing image {@code child} at {@code newBase}. Safe (the
   * default, {@code unsafe} false): first every sector where what {@code child} reads now differs
   * from what {@code newBase} holds is written into {@code child} (only 2 MiB pieces where either
   * side has data are compared), so it reads exactly the same afterwards; unsafe: only the link
   * changes, as {@code qemu-img rebase -u} and {@code vhd-util modify -p} do. The data is flushed
   * before the link is rewritten ({@link VhdParent#relink}), so a crash at any point leaves {@code
   * child} reading as before. Refused for a non-differencing image, a new base of another size, and
   * a new base whose chain holds {@code child}. Returns the bytes written.
   */
  public static long rebase(Path child, Path newBase, boolean unsafe, Progress progress)
      throws IOException {
    Path c = child.toAbsolutePath().normalize();
    try (DiskChain base = DiskChain.open(newBase, true, StorageProvider.FILES)) {
      for (Path p : base.paths()) {
        if (p.toAbsolutePath().normalize().equals(c)) {
          throw new IOException(newBase + ": its chain holds " + child + " (a parent loop)");
        }
      }
      try (DiskChain chain =
          DiskChain.open(
              c, StorageProvider.Access.WRITE, StorageProvider.FILES, null, WriteRule.Grant.USER)) {
        if (!chain.leaf().isDifferencing()) {
          throw new IOException(child + " is not a differencing image; nothing to rebase");
        }
        if (base.size() != chain.size()) {
          throw new IOException(
              newBase + " has " + base.size() + " bytes, " + child + " " + chain.size());
        }
        long written = unsafe ? 0 : copyDifferences(chain, base, progress);
        chain.flush();
        VhdCreator.ParentLink link = VhdCreator.linkTo(c, newBase, base.leaf().footer());
        io.vdisk.engine.image.VhdParent.relink(
            chain.leaf(), link.uuid(), link.timestamp(), link.name(), link.relativePath());
        return written;
      }
    }
  }

  /** Writes into {@code chain}'s leaf each run of sectors where it reads unlike {@code base}. */
  private static long copyDifferences(DiskChain chain, DiskChain base, Progress progress)
      throws IOException {
    long size = chain.size();
    int piece = VhdLayout.DEFAULT_BLOCK_SIZE;
    java.util.BitSet touched = new java.util.BitSet();
    for (VirtualDisk d : new VirtualDisk[] {chain, base}) {
      for (Extent e : d.extents(0, size)) {
        if (e.kind() == Extent.Kind.DATA) {
          touched.set((int) (e.offset() / piece), (int) ((e.end() - 1) / piece) + 1);
        }
      }
    }
    java.nio.ByteBuffer now = java.nio.ByteBuffer.allocate(piece);
    java.nio.ByteBuffer want = java.nio.ByteBuffer.allocate(piece);
    long written = 0;
    for (int i = touched.nextSetBit(0); i >= 0; i = touched.nextSetBit(i + 1)) {
      long pos = (long) i * piece;
      int n = (int) Math.min(piece, size - pos);
      now.clear().limit(n);
      want.clear().limit(n);
      chain.read(pos, now);
      base.read(pos, want);
      int run = -1;
      for (int s = 0; s <= n; s += VhdLayout.SECTOR) {
        boolean differs =
            s < n && now.slice(s, VhdLayout.SECTOR).mismatch(want.slice(s, VhdLayout.SECTOR)) >= 0;
        if (differs && run < 0) {
          run = s;
        } else if (!differs && run >= 0) {
          chain.write(pos + run, now.slice(run, s - run));
          written += s - run;
          run = -1;
        }
      }
      progress.update(pos + n, size);
    }
    progress.update(size, size);
    return written;
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
