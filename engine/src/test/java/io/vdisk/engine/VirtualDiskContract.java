package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.io.ReadOnlyDiskException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;

/**
 * The contract every {@link VirtualDisk} keeps (the Lucene {@code BaseDirectoryTestCase} pattern):
 * each implementation subclasses this with a fixture, and runs it over block sizes of 512 B, 4 KiB
 * and 2 MiB, where tiny blocks find boundary bugs cheaply (the jimfs matrix).
 *
 * <p>The disk is {@code 5 blocks + 3 sectors} (a partial last block), holding random data in block
 * 0, a sector run at the start of block 2, the last sector of block 3 and the very last sector, and
 * zeros elsewhere. Read-only implementations answer every write test by refusing the write.
 */
abstract class VirtualDiskContract {
  @TempDir Path dir;

  @Parameter int blockSize;

  private final List<VirtualDisk> opened = new ArrayList<>();
  byte[] model;
  long size;

  /** Makes the disk with {@code content} under {@code dir}; returns what reopens it. */
  abstract Fixture create(Path dir, int blockSize, byte[] content) throws IOException;

  /** Opens and reopens one disk. */
  interface Fixture {
    VirtualDisk open(boolean readOnly) throws IOException;

    /** False for disks that are only ever read-only (XVA). */
    default boolean writable() {
      return true;
    }

    default void close() throws IOException {}
  }

  private Fixture fixture;

  @BeforeEach
  void make() throws IOException {
    size = 5L * blockSize + 3 * 512;
    model = new byte[(int) size];
    Random rnd = new Random(blockSize);
    fill(rnd, 0, blockSize);
    fill(rnd, 2L * blockSize, Math.min(blockSize, 1536));
    fill(rnd, 4L * blockSize - 512, 512);
    fill(rnd, size - 512, 512);
    fixture = create(dir, blockSize, model.clone());
  }

  private void fill(Random rnd, long at, int len) {
    byte[] b = new byte[len];
    rnd.nextBytes(b);
    System.arraycopy(b, 0, model, (int) at, len);
  }

  @AfterEach
  void closeAll() throws IOException {
    for (VirtualDisk d : opened) {
      d.close();
    }
    fixture.close();
  }

  VirtualDisk open(boolean readOnly) throws IOException {
    VirtualDisk d = fixture.open(readOnly || !fixture.writable());
    opened.add(d);
    return d;
  }

  private static byte[] read(VirtualDisk d, long at, int len) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len);
    d.read(at, b);
    assertThat(b.hasRemaining()).as("read fills the buffer").isFalse();
    return b.array();
  }

  private byte[] model(long at, int len) {
    return Arrays.copyOfRange(model, (int) at, (int) at + len);
  }

  // ---- size and reads ---------------------------------------------------------------------

  @Test
  void sizeIsTheContentLength() throws IOException {
    assertThat(open(true).size()).isEqualTo(size);
  }

  @Test
  void readsTheWholeDisk() throws IOException {
    assertThat(read(open(true), 0, (int) size)).isEqualTo(model);
  }

  @Test
  void readsAtZero() throws IOException {
    assertThat(read(open(true), 0, 1)).isEqualTo(model(0, 1));
  }

  @Test
  void readsTheLastByte() throws IOException {
    assertThat(read(open(true), size - 1, 1)).isEqualTo(model(size - 1, 1));
  }

  @Test
  void readsAcrossABlockEdge() throws IOException {
    long at = blockSize - 700L;
    int len = Math.min(1400, (int) (size - Math.max(0, at)));
    assertThat(read(open(true), Math.max(0, at), len)).isEqualTo(model(Math.max(0, at), len));
  }

  @Test
  void readsUnalignedInsideASector() throws IOException {
    assertThat(read(open(true), 2L * blockSize + 3, 100)).isEqualTo(model(2L * blockSize + 3, 100));
  }

  @Test
  void readsIntoADirectBufferAtAnOffset() throws IOException {
    ByteBuffer b = ByteBuffer.allocateDirect(4096);
    b.position(100).limit(100 + 2048);
    long at = Math.max(0, blockSize - 1024L);
    open(true).read(at, b);
    assertThat(b.position()).isEqualTo(2148);
    byte[] got = new byte[2048];
    b.position(100);
    b.get(got);
    assertThat(got).isEqualTo(model(at, 2048));
  }

  @Test
  void anEmptyReadAtTheEndIsAllowed() throws IOException {
    open(true).read(size, ByteBuffer.allocate(0));
  }

  @Test
  void readingPastTheEndIsRefused() throws IOException {
    VirtualDisk d = open(true);
    assertThatThrownBy(() -> d.read(size, ByteBuffer.allocate(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> d.read(size - 10, ByteBuffer.allocate(11)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> d.read(-1, ByteBuffer.allocate(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void concurrentReadersSeeTheSameBytes() throws Exception {
    VirtualDisk d = open(true);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        long seed = t;
        results.add(
            pool.submit(
                () -> {
                  Random rnd = new Random(seed);
                  for (int i = 0; i < 50; i++) {
                    long at = rnd.nextInt((int) size);
                    int len = 1 + rnd.nextInt((int) Math.min(3L * blockSize, size - at));
                    if (!Arrays.equals(read(d, at, len), model(at, len))) {
                      return false;
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> f : results) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- extents ----------------------------------------------------------------------------

  // ---- transfers to a channel ------------------------------------------------------------

  /** What {@code transferTo} wrote, into a file (the kernel's copy) or a stream (Java's). */
  private byte[] transferred(VirtualDisk d, long at, long len, boolean toFile) throws IOException {
    if (!toFile) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      d.transferTo(at, len, java.nio.channels.Channels.newChannel(out));
      return out.toByteArray();
    }
    Path f = java.nio.file.Files.createTempFile(dir, "transfer", ".bin");
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      d.transferTo(at, len, ch);
    }
    return java.nio.file.Files.readAllBytes(f);
  }

  @Test
  void transferToSendsWhatReadReadsOverEveryEdge() throws IOException {
    VirtualDisk d = open(true);
    long[][] ranges = {
      {0, size},
      {0, 1},
      {3, blockSize},
      {blockSize - 700L, 1400},
      {2L * blockSize + 3, 100},
      {2L * blockSize, blockSize},
      {4L * blockSize - 1024, 2048},
      {size - 1, 1},
      {size, 0}
    };
    for (long[] r : ranges) {
      long at = Math.max(0, r[0]);
      long len = Math.min(r[1], size - at);
      for (boolean toFile : new boolean[] {true, false}) {
        assertThat(transferred(d, at, len, toFile))
            .as("transfer of %d+%d to a %s", at, len, toFile ? "file" : "stream")
            .isEqualTo(model(at, (int) len));
      }
    }
  }

  @Test
  void transferToAfterWritesSendsTheNewBytes() throws IOException {
    VirtualDisk d = open(false);
    if (d.isReadOnly()) {
      return; // nothing to write; the read-only transfers are checked above
    }
    write(d, 0, blockSize, 0x21); // a whole block rewritten in the top layer
    write(d, 2L * blockSize + 512, 512, 0x22); // one sector of a partly present block
    write(d, size - 700, 700, 0x23);
    assertThat(transferred(d, 0, size, true)).isEqualTo(model);
    assertThat(transferred(d, 0, size, false)).isEqualTo(model);
  }

  @Test
  void transferPastTheEndIsRefusedBeforeAnyByte() throws IOException {
    VirtualDisk d = open(true);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    assertThatThrownBy(() -> d.transferTo(size - 1, 2, java.nio.channels.Channels.newChannel(out)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> d.transferTo(-1, 1, java.nio.channels.Channels.newChannel(out)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(out.size()).isZero();
  }

  @Test
  void extentsAreOrderedMergedAndCoverTheRange() throws IOException {
    VirtualDisk d = open(true);
    for (long[] r : new long[][] {{0, size}, {1, size - 1}, {blockSize + 7L, 3L * blockSize}}) {
      List<Extent> ex = d.extents(r[0], r[1]);
      assertThat(ex).isNotEmpty();
      assertThat(ex.get(0).offset()).isEqualTo(r[0]);
      assertThat(ex.get(ex.size() - 1).end()).isEqualTo(r[1]);
      for (int i = 1; i < ex.size(); i++) {
        Extent a = ex.get(i - 1);
        Extent b = ex.get(i);
        assertThat(b.offset()).as("contiguous").isEqualTo(a.end());
        assertThat(a.kind() == b.kind() && a.layer() == b.layer()).as("merged").isFalse();
      }
      assertThat(ex).allMatch(e -> e.length() > 0 && e.kind() != Extent.Kind.ABSENT);
    }
  }

  @Test
  void zeroExtentsReadAsZerosAndDataIsInDataExtents() throws IOException {
    VirtualDisk d = open(true);
    List<Extent> extents = d.extents(0, size);
    for (Extent e : extents) {
      if (e.kind() == Extent.Kind.ZERO) {
        assertThat(read(d, e.offset(), (int) e.length())).isEqualTo(new byte[(int) e.length()]);
      }
    }
    for (int i = 0; i < model.length; i++) {
      if (model[i] != 0) {
        long at = i;
        assertThat(extents)
            .as("byte %d is non-zero, so it lies in a DATA extent", i)
            .anyMatch(e -> e.kind() == Extent.Kind.DATA && e.offset() <= at && at < e.end());
        i = (i / 512 + 1) * 512 - 1;
      }
    }
  }

  @Test
  void extentsOutsideTheDiskAreRefused() throws IOException {
    VirtualDisk d = open(true);
    assertThatThrownBy(() -> d.extents(0, size + 1)).isInstanceOf(IllegalArgumentException.class);
  }

  // ---- writes -----------------------------------------------------------------------------

  @Test
  void aWriteOnAReadOnlyOpenIsRefusedAndChangesNothing() throws IOException {
    VirtualDisk d = open(true);
    assertThat(d.isReadOnly()).isTrue();
    assertThatThrownBy(() -> d.write(0, ByteBuffer.allocate(512)))
        .isInstanceOf(ReadOnlyDiskException.class);
    assertThatThrownBy(() -> d.writeZeros(0, 512)).isInstanceOf(ReadOnlyDiskException.class);
    assertThat(read(d, 0, (int) size)).isEqualTo(model);
  }

  @Test
  void aReadWriteOpenSaysSo() throws IOException {
    assertThat(open(false).isReadOnly()).isEqualTo(!fixture.writable());
  }

  @Test
  void writesAtBlockAndSectorEdgesReadBack() throws IOException {
    VirtualDisk d = open(false);
    if (d.isReadOnly()) {
      assertThatThrownBy(() -> d.write(0, ByteBuffer.allocate(1)))
          .isInstanceOf(ReadOnlyDiskException.class);
      return;
    }
    write(d, 0, 1, 0x11);
    write(d, blockSize - 1L, 2, 0x12);
    write(d, 3L * blockSize - 300, 600, 0x13);
    write(d, size - 1, 1, 0x14);
    write(d, blockSize + 511L, 1025, 0x15);
    assertThat(read(d, 0, (int) size)).isEqualTo(model);
  }

  @Test
  void writingPastTheEndIsRefused() throws IOException {
    VirtualDisk d = open(false);
    Class<? extends Exception> expected =
        d.isReadOnly() ? ReadOnlyDiskException.class : IllegalArgumentException.class;
    assertThatThrownBy(() -> d.write(size - 1, ByteBuffer.allocate(2))).isInstanceOf(expected);
    assertThat(read(d, 0, (int) size)).isEqualTo(model);
  }

  @Test
  void writeZerosReadsAsZeros() throws IOException {
    VirtualDisk d = open(false);
    if (d.isReadOnly()) {
      assertThatThrownBy(() -> d.writeZeros(0, 512)).isInstanceOf(ReadOnlyDiskException.class);
      return;
    }
    d.writeZeros(100, blockSize + 1000L);
    Arrays.fill(model, 100, 100 + blockSize + 1000, (byte) 0);
    d.writeZeros(size - 512, 512);
    Arrays.fill(model, (int) size - 512, (int) size, (byte) 0);
    assertThat(read(d, 0, (int) size)).isEqualTo(model);
  }

  @Test
  void flushedWritesSurviveCloseAndReopen() throws IOException {
    VirtualDisk d = open(false);
    if (d.isReadOnly()) {
      d.flush(); // nothing to make durable; allowed
      return;
    }
    write(d, 2L * blockSize + 512, 2048, 0x21);
    write(d, size - 700, 700, 0x22);
    d.flush();
    d.close();
    assertThat(read(open(true), 0, (int) size)).isEqualTo(model);
  }

  @Test
  void dataWrittenShowsInTheExtents() throws IOException {
    VirtualDisk d = open(false);
    if (d.isReadOnly()) {
      return;
    }
    long at = 4L * blockSize + 512;
    write(d, at, 512, 0x31);
    assertThat(d.extents(0, size))
        .anyMatch(e -> e.kind() == Extent.Kind.DATA && e.offset() <= at && at + 512 <= e.end());
  }

  private void write(VirtualDisk d, long at, int len, int value) throws IOException {
    byte[] b = new byte[len];
    Arrays.fill(b, (byte) value);
    ByteBuffer buf = ByteBuffer.wrap(b);
    d.write(at, buf);
    assertThat(buf.hasRemaining()).as("write consumes the buffer").isFalse();
    System.arraycopy(b, 0, model, (int) at, len);
  }

  // ---- closing ----------------------------------------------------------------------------

  @Test
  void closeIsIdempotent() throws IOException {
    VirtualDisk d = open(true);
    d.close();
    d.close();
  }

  @Test
  void useAfterCloseFails() throws IOException {
    VirtualDisk d = open(true);
    d.close();
    assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(512))).isInstanceOf(IOException.class);
  }

  /** Writes the non-zero sectors of {@code content} into {@code d}, then flushes and closes it. */
  static void writeContent(VirtualDisk d, byte[] content) throws IOException {
    try (d) {
      for (int s = 0; s < content.length; s += 512) {
        int len = Math.min(512, content.length - s);
        ByteBuffer sector = ByteBuffer.wrap(content, s, len);
        if (!io.vdisk.engine.io.Zeros.isZero(sector.duplicate())) {
          d.write(s, sector);
        }
      }
      d.flush();
    }
  }

  /** A dynamic VHD holding {@code content}. */
  static Path dynamicVhd(Path dir, String name, int blockSize, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    TestDisks.dynamic(p, content.length, blockSize);
    writeContent(DiskChain.open(p, false), content);
    return p;
  }
}
