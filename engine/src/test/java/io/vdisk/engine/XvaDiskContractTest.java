package io.vdisk.engine;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vdis;
import io.vdisk.engine.sr.Vms;
import io.vdisk.engine.sr.XvaTransfer;
import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaDisk;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/** A disk of an uncompressed XVA read in place: exported from an SR VDI holding the content. */
@ParameterizedClass(name = "block {0}")
@ValueSource(ints = {512, 4096, 2 * 1024 * 1024})
class XvaDiskContractTest extends VirtualDiskContract {
  @Override
  Fixture create(Path dir, int blockSize, byte[] content) throws java.io.IOException {
    Path xva = dir.resolve("vm.xva");
    try (StorageRepository sr = StorageRepository.create(dir.resolve("sr"), "test")) {
      String vdi = Vdis.create(sr, "disk", "", content.length);
      writeContent(sr.openVdi(vdi, false), content);
      String vm = Vms.create(sr, "vm", "", 1, 1L << 30);
      Vms.createVbd(sr, vm, vdi, "0", true, "RW");
      try (OutputStream out = Files.newOutputStream(xva)) {
        XvaTransfer.export(sr, vm, out, XvaCompression.NONE, ChunkChecksum.SHA1);
      }
    }
    return new Fixture() {
      @Override
      public VirtualDisk open(boolean readOnly) throws java.io.IOException {
        return XvaDisk.openAll(xva).values().iterator().next();
      }

      @Override
      public boolean writable() {
        return false;
      }
    };
  }
}
