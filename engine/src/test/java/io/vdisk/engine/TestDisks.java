package io.vdisk.engine;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;

/** Helpers shared by engine tests: an in-memory file system and whole-disk reads. */
final class TestDisks {
  private TestDisks() {}

  static FileSystem memoryFs() {
    return Jimfs.newFileSystem(Configuration.unix());
  }

  static Path dir(FileSystem fs) throws IOException {
    return Files.createDirectories(fs.getPath("/images"));
  }

  static void dynamic(Path p, long size, int blockSize) throws IOException {
    VhdCreator.createDynamic(
        StorageProvider.FILES,
        p,
        new VhdCreator.Spec(
            io.vdisk.vhd.DiskType.DYNAMIC, size, blockSize, UUID.randomUUID(), Instant.now()));
  }

  static byte[] readAll(VirtualDisk d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  static byte[] readAll(Path p) throws IOException {
    try (DiskChain c = DiskChain.open(p, true)) {
      return readAll(c);
    }
  }

  /** The whole disk as {@link VirtualDisk#transferTo} sends it to a channel. */
  static byte[] transferAll(Path p) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (DiskChain c = DiskChain.open(p, true)) {
      c.transferTo(0, c.size(), java.nio.channels.Channels.newChannel(out));
    }
    return out.toByteArray();
  }

  static ByteBuffer filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return ByteBuffer.wrap(b);
  }
}
