package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random writes through chains of depth 1, 2 and 30, checked against a {@code byte[]} model
 * after every layer and after reopening. Tiny blocks (4 KiB: 8 sectors, one bitmap byte) make every
 * write straddle bitmap bytes and block edges.
 */
class ChainModelTest {
  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(4096, 1, 1L),
        Arguments.of(4096, 2, 2L),
        Arguments.of(4096, 30, 3L),
        Arguments.of(65536, 2, 4L),
        Arguments.of(65536, 30, 5L),
        Arguments.of(512, 3, 6L));
  }

  @ParameterizedTest(name = "block {0}, depth {1}, seed {2}")
  @MethodSource("cases")
  void chainReadsWhatWasWritten(int blockSize, int depth, long seed) throws Exception {
    try (FileSystem fs = TestDisks.memoryFs()) {
      Path dir = TestDisks.dir(fs);
      int size = blockSize * 40 + 512 * 3; // a partial last block too
      byte[] model = new byte[size];
      Random rnd = new Random(seed);
      Path leaf = dir.resolve("l0.vhd");
      TestDisks.dynamic(leaf, size, blockSize);
      for (int level = 0; level < depth; level++) {
        if (level > 0) {
          Path child = dir.resolve("l" + level + ".vhd");
          Snapshots.createChild(leaf, child);
          leaf = child;
        }
        try (DiskChain chain = DiskChain.open(leaf, false)) {
          assertThat(chain.depth()).isEqualTo(level + 1);
          for (int op = 0; op < 12; op++) {
            randomWrite(chain, model, rnd, blockSize);
          }
          assertThat(TestDisks.readAll(chain)).as("seed %d level %d", seed, level).isEqualTo(model);
          if (rnd.nextBoolean()) {
            chain.flush();
          }
        }
        assertThat(TestDisks.readAll(leaf))
            .as("reopened, seed %d level %d", seed, level)
            .isEqualTo(model);
        assertThat(ImageChecker.check(leaf)).as("seed %d", seed).isEmpty();
      }
      try (DiskChain chain = DiskChain.open(leaf, true)) {
        for (Extent e : chain.extents(0, size)) {
          if (e.kind() == Extent.Kind.ZERO) {
            for (long i = e.offset(); i < e.end(); i++) {
              assertThat(model[(int) i]).as("zero extent at %d, seed %d", i, seed).isZero();
            }
          }
        }
        byte[] some = new byte[777];
        int off = rnd.nextInt(size - some.length);
        chain.read(off, ByteBuffer.wrap(some));
        assertThat(some).isEqualTo(java.util.Arrays.copyOfRange(model, off, off + some.length));
      }
    }
  }

  private static void randomWrite(DiskChain chain, byte[] model, Random rnd, int blockSize)
      throws Exception {
    int size = model.length;
    int kind = rnd.nextInt(4);
    int off;
    int len;
    if (kind == 0) { // sector-aligned, may straddle blocks
      off = rnd.nextInt(size / 512) * 512;
      len = Math.min(size - off, (1 + rnd.nextInt(3 * blockSize / 512)) * 512);
    } else if (kind == 1) { // unaligned bytes
      off = rnd.nextInt(size - 1);
      len = 1 + rnd.nextInt(Math.min(size - off, 2 * blockSize));
    } else if (kind == 2) { // one sector at a block edge
      int block = rnd.nextInt(size / blockSize);
      off = Math.max(0, block * blockSize - 512 * rnd.nextInt(2));
      len = Math.min(size - off, 512 * (1 + rnd.nextInt(2)));
    } else { // zeros over whatever is there
      off = rnd.nextInt(size / 512) * 512;
      len = Math.min(size - off, (1 + rnd.nextInt(2 * blockSize / 512)) * 512);
      chain.writeZeros(off, len);
      java.util.Arrays.fill(model, off, off + len, (byte) 0);
      return;
    }
    byte[] data = new byte[len];
    rnd.nextBytes(data);
    chain.write(off, ByteBuffer.wrap(data));
    System.arraycopy(data, 0, model, off, len);
  }
}
