package io.vdisk.engine;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A depth-3 chain: the base holds the content plus noise that the middle layer masks with zero
 * writes, the middle holds the last sector again, the leaf the first block again.
 */
@ParameterizedClass(name = "block {0}")
@ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
class ChainContractTest extends VirtualDiskContract {
  @Override
  Fixture create(Path dir, int blockSize, byte[] content) throws java.io.IOException {
    byte[] noisy = content.clone();
    int noiseAt = blockSize; // block 1 reads as zeros
    Arrays.fill(noisy, noiseAt, noiseAt + 512, (byte) 0x7E);
    Path base = dynamicVhd(dir, "base.vhd", blockSize, noisy);
    Path mid = dir.resolve("mid.vhd");
    Snapshots.createChild(base, mid);
    try (DiskChain d = DiskChain.open(mid, false)) {
      d.writeZeros(noiseAt, 512);
      d.write(content.length - 512, ByteBuffer.wrap(content, content.length - 512, 512));
    }
    Path leaf = dir.resolve("leaf.vhd");
    Snapshots.createChild(mid, leaf);
    try (DiskChain d = DiskChain.open(leaf, false)) {
      d.write(0, ByteBuffer.wrap(content, 0, blockSize));
    }
    return readOnly -> DiskChain.open(leaf, readOnly);
  }
}
