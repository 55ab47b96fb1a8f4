package io.vdisk.engine;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vdis;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/** A VDI of an SR opened through the SR, its VDI lock held while it is open. */
@ParameterizedClass(name = "block {0}")
@ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
class SrVdiContractTest extends VirtualDiskContract {
  @Override
  Fixture create(Path dir, int blockSize, byte[] content) throws java.io.IOException {
    StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "test");
    String vdi = Vdis.create(sr, "disk", "", content.length);
    writeContent(sr.openVdi(vdi, false), content);
    return new Fixture() {
      @Override
      public VirtualDisk open(boolean readOnly) throws java.io.IOException {
        return sr.openVdi(vdi, readOnly);
      }

      @Override
      public void close() throws java.io.IOException {
        sr.close();
      }
    };
  }
}
