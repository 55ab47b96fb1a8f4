package io.vdisk.bench;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

/**
 * Builds chains whose guest-visible contents do not depend on their depth: every byte is a function
 * of its offset, and the layers only divide the blocks among themselves, so benchmarks at depth 1,
 * 8 and 30 read the same data.
 */
final class Chains {
  static final int BLOCK = 2 << 20;

  private Chains() {}

  /** The contents of one block: seeded by its index, so any layer writes the same bytes. */
  static ByteBuffer blockData(int block) {
    byte[] b = new byte[BLOCK];
    new Random(block * 7919L + 17).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  /**
   * Creates {@code depth} images {@code l0.vhd .. l<depth-1>.vhd} in {@code dir} (the last is the
   * leaf) of {@code size} bytes; block {@code b} is written, whole, when {@code allocated(b)}, into
   * layer {@code b % depth}; with {@code partial}, the leaf also rewrites 4 KiB of every 16th
   * block, so those blocks are split between two layers. Returns the leaf.
   */
  static Path build(
      Path dir, long size, int depth, java.util.function.IntPredicate allocated, boolean partial)
      throws IOException {
    int blocks = (int) (size / BLOCK);
    Path prev = null;
    for (int layer = 0; layer < depth; layer++) {
      Path p = dir.resolve("l" + layer + ".vhd");
      if (prev == null) {
        VhdCreator.createDynamic(StorageProvider.FILES, p, VhdCreator.Spec.dynamic(size));
      } else {
        Snapshots.createChild(prev, p);
      }
      try (DiskChain d = DiskChain.open(p, false)) {
        for (int b = 0; b < blocks; b++) {
          if (allocated.test(b) && b % depth == layer) {
            d.write((long) b * BLOCK, blockData(b));
          }
        }
        if (partial && layer == depth - 1 && depth > 1) {
          for (int b = 0; b < blocks; b += 16) {
            if (allocated.test(b)) {
              ByteBuffer data = blockData(b);
              data.position(8192).limit(8192 + 4096);
              d.write((long) b * BLOCK + 8192, data);
            }
          }
        }
        d.flush();
      }
      prev = p;
    }
    return prev;
  }
}
