package io.vdisk.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Disks to and from streams that cannot seek: raw in order, and VHDs written and read in order. */
class StreamsTest {
  @TempDir Path dir;

  private Path chain() throws Exception {
    Path base = dir.resolve("base.vhd");
    TestDisks.dynamic(base, 9L << 20, 4096);
    try (DiskChain d = DiskChain.open(base, false)) {
      byte[] r = new byte[300_000];
      new Random(1).nextBytes(r);
      d.write(100_000, ByteBuffer.wrap(r));
      d.write((9L << 20) - 512, TestDisks.filled(512, 0x99));
    }
    Path leaf = dir.resolve("leaf.vhd");
    Snapshots.createChild(base, leaf);
    try (DiskChain d = DiskChain.open(leaf, false)) {
      d.write(5L << 20, TestDisks.filled(70_000, 0x55));
      d.writeZeros(150_000, 4096);
    }
    return leaf;
  }

  private byte[] streamVhd(Path src) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DiskChain c = DiskChain.open(src, true)) {
      Streams.writeVhd(c, out, Progress.NONE);
    }
    return out.toByteArray();
  }

  @Test
  void aStreamedVhdIsAnImageEveryReaderOpens() throws Exception {
    Path leaf = chain();
    Path out = Files.write(dir.resolve("streamed.vhd"), streamVhd(leaf));
    assertThat(TestDisks.readAll(out)).isEqualTo(TestDisks.readAll(leaf));
    assertThat(ImageChecker.check(out)).isEmpty();
    try (DiskChain c = DiskChain.open(out, true)) {
      assertThat(c.depth()).isEqualTo(1);
      assertThat(c.leaf().allocatedBlocks()).as("only blocks with data").isEqualTo(3);
    }
  }

  @Test
  void rawStreamsAreTheBytesInOrder() throws Exception {
    Path leaf = chain();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DiskChain c = DiskChain.open(leaf, true)) {
      Streams.writeRaw(c, out, Progress.NONE);
    }
    assertThat(out.toByteArray()).isEqualTo(TestDisks.readAll(leaf));
    Path target = dir.resolve("t.vhd");
    TestDisks.dynamic(target, 9L << 20, 1 << 20);
    try (DiskChain t = DiskChain.open(target, false)) {
      Streams.readRaw(new ByteArrayInputStream(out.toByteArray()), t, Progress.NONE);
    }
    assertThat(TestDisks.readAll(target)).isEqualTo(TestDisks.readAll(leaf));
  }

  private byte[] readVhdInto(byte[] stream, long size) throws Exception {
    Path target = dir.resolve("target-" + System.nanoTime() + ".vhd");
    TestDisks.dynamic(target, size, 1 << 20);
    try (DiskChain t = DiskChain.open(target, false)) {
      Streams.readVhd(new ByteArrayInputStream(stream), t, Progress.NONE);
    }
    return TestDisks.readAll(target);
  }

  @Test
  void vhdsOfEveryKindReadFromAStream() throws Exception {
    Path leaf = chain();
    byte[] view = TestDisks.readAll(leaf);
    assertThat(readVhdInto(streamVhd(leaf), 9L << 20)).as("our stream").isEqualTo(view);
    // vdisk's own file, blocks in the order they were first written
    Path flat = dir.resolve("flat.vhd");
    try (DiskChain c = DiskChain.open(leaf, true)) {
      Converter.convert(c, flat, Converter.Target.VHD, Progress.NONE);
    }
    assertThat(readVhdInto(Files.readAllBytes(flat), 9L << 20)).as("a file").isEqualTo(view);
    // a tapdisk-style image: partial bitmaps, blocks listed out of file order
    ForeignImage tap =
        ForeignImage.dynamic(8L << 20, 2 << 20)
            .partialBlock(3, 5, 9, 0x33)
            .partialBlock(1, 0, 1, 0x11);
    Path t = tap.writeTo(dir.resolve("tap.vhd"));
    assertThat(readVhdInto(Files.readAllBytes(t), 8L << 20)).isEqualTo(tap.contents(null));
    // a fixed VHD: data, then the footer
    Path fixed = dir.resolve("fixed.vhd");
    try (DiskChain c = DiskChain.open(leaf, true)) {
      Converter.convert(c, fixed, Converter.Target.VHD_FIXED, Progress.NONE);
    }
    assertThat(readVhdInto(Files.readAllBytes(fixed), 9L << 20)).as("fixed").isEqualTo(view);
  }

  @Test
  void badStreamsAreRefusedWithTheReason() throws Exception {
    Path leaf = chain();
    byte[] vhd = streamVhd(leaf);
    assertThatThrownBy(() -> readVhdInto(Arrays.copyOf(vhd, vhd.length / 2), 9L << 20))
        .isInstanceOf(EOFException.class)
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> readVhdInto(Files.readAllBytes(leaf), 9L << 20))
        .hasMessageContaining("differencing");
    assertThatThrownBy(() -> readVhdInto(vhd, 4L << 20))
        .hasMessageContaining("lies past the target");
    assertThatThrownBy(() -> readVhdInto(new byte[4096], 9L << 20))
        .hasMessageContaining("no VHD footer");
    Path target = dir.resolve("small.vhd");
    TestDisks.dynamic(target, 1 << 20, 1 << 20);
    try (DiskChain t = DiskChain.open(target, false)) {
      assertThatThrownBy(
              () -> Streams.readRaw(new ByteArrayInputStream(new byte[2 << 20]), t, Progress.NONE))
          .hasMessageContaining("more than the disk");
    }
  }
}
