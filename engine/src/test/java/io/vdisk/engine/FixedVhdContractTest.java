package io.vdisk.engine;

import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

@ParameterizedClass(name = "block {0}")
@ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
class FixedVhdContractTest extends VirtualDiskContract {
  @Override
  Fixture create(Path dir, int blockSize, byte[] content) throws java.io.IOException {
    Path p = dir.resolve("fixed.vhd");
    VhdCreator.createFixed(StorageProvider.FILES, p, VhdCreator.Spec.fixed(content.length));
    writeContent(DiskChain.open(p, false), content);
    return readOnly -> DiskChain.open(p, readOnly);
  }
}
