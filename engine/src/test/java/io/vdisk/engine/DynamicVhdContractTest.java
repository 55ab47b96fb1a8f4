package io.vdisk.engine;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

@ParameterizedClass(name = "block {0}")
@ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
class DynamicVhdContractTest extends VirtualDiskContract {
  @Override
  Fixture create(Path dir, int blockSize, byte[] content) throws java.io.IOException {
    Path p = dynamicVhd(dir, "dynamic.vhd", blockSize, content);
    return readOnly -> DiskChain.open(p, readOnly);
  }
}
