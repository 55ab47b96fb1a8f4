package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.ImageRefusedException;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One writer or many readers per image, on real files (OFD locks) and in memory (the JVM's table),
 * held from open to close, across every way the engine opens an image.
 */
class ImageLockTest {
  @TempDir Path tmp;

  private Path image(boolean inMemory, FileSystem[] keep) throws Exception {
    Path dir = tmp;
    if (inMemory) {
      keep[0] = TestDisks.memoryFs();
      dir = TestDisks.dir(keep[0]);
    }
    Path p = dir.resolve("a.vhd");
    TestDisks.dynamic(p, 8L << 20, 1 << 20);
    return p;
  }

  @ParameterizedTest(name = "in memory: {0}")
  @ValueSource(booleans = {false, true})
  void oneWriterOrManyReaders(boolean inMemory) throws Exception {
    FileSystem[] fs = new FileSystem[1];
    Path p = image(inMemory, fs);
    try (DiskChain r1 = DiskChain.open(p, true);
        DiskChain r2 = DiskChain.open(p, true)) {
      assertThatThrownBy(() -> DiskChain.open(p, false))
          .isInstanceOf(ImageRefusedException.class)
          .hasMessageContaining(p + ": in use")
          .hasMessageContaining("this process");
      assertThat(r2.size()).isEqualTo(r1.size());
    }
    try (DiskChain w = DiskChain.open(p, false)) {
      assertThatThrownBy(() -> DiskChain.open(p, true))
          .isInstanceOf(ImageRefusedException.class)
          .hasMessageContaining("another opener writes it")
          .hasMessageContaining("-U reads it without the lock");
      assertThatThrownBy(() -> DiskChain.open(p, false)).isInstanceOf(ImageRefusedException.class);
      // -U: metadata and reads without the lock
      try (DiskChain peek = DiskChain.open(p, StorageProvider.Access.PEEK)) {
        assertThat(peek.size()).isEqualTo(w.size());
      }
    }
    try (DiskChain w = DiskChain.open(p, false)) {
      assertThat(w.isReadOnly()).isFalse(); // released at close, taken again
    }
    if (fs[0] != null) {
      fs[0].close();
    }
  }

  @Test
  void aParentIsReadLockedByItsChildsChain() throws Exception {
    Path base = tmp.resolve("base.vhd");
    TestDisks.dynamic(base, 4L << 20, 1 << 20);
    Path child = tmp.resolve("child.vhd");
    Snapshots.createChild(base, child);
    try (DiskChain c = DiskChain.open(child, false)) {
      assertThatThrownBy(() -> DiskChain.open(base, StorageProvider.Access.WRITE))
          .isInstanceOf(ImageRefusedException.class);
    }
  }

  @Test
  void closingAnotherDescriptorOfTheFileKeepsTheLock() throws Exception {
    // Java's FileChannel.lock would lose it here: POSIX locks die with any close of the file.
    Path p = tmp.resolve("a.vhd");
    TestDisks.dynamic(p, 4L << 20, 1 << 20);
    try (DiskChain w = DiskChain.open(p, false)) {
      Files.readAllBytes(p);
      try (VhdImage peek =
          VhdImage.open(StorageProvider.FILES.open(p, StorageProvider.Access.PEEK), true)) {
        assertThat(peek.size()).isEqualTo(w.size());
      }
      assertThatThrownBy(() -> DiskChain.open(p, true)).isInstanceOf(ImageRefusedException.class);
    }
  }

  @Test
  void fifosAndDirectoriesAreRefusedBeforeTheyAreOpened() throws Exception {
    Path fifo = tmp.resolve("pipe.vhd");
    new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
    assertThatThrownBy(() -> DiskChain.open(fifo, true))
        .isInstanceOf(java.nio.file.FileSystemException.class)
        .hasMessageContaining("not a regular file");
    assertThatThrownBy(() -> RawDisk.open(fifo, true)).hasMessageContaining("not a regular file");
    assertThatThrownBy(() -> DiskChain.open(tmp, true)).hasMessageContaining("is a directory");
  }
}
