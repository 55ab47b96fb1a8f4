package io.vdisk.bench;

import io.vdisk.engine.DiskChain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Reads through chains of depth 1, 8 and 30 holding the same 256 MiB of data (blocks dealt out to
 * the layers round-robin; in the deeper chains the leaf also rewrote 4 KiB of every 16th block, so
 * those blocks are split between two layers). Files sit in the page cache: this measures the
 * engine's cost per read, which must not grow with depth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class ChainReadBenchmark {
  private static final long SIZE = 256L << 20;

  @Param({"1", "8", "30"})
  public int depth;

  private Path dir;
  private DiskChain chain;
  private ByteBuffer small;
  private ByteBuffer large;
  private SplittableRandom random;
  private long sequential;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("vdisk-bench-read");
    Path leaf = Chains.build(dir, SIZE, depth, b -> true, true);
    chain = DiskChain.open(leaf, true);
    small = ByteBuffer.allocateDirect(4096);
    large = ByteBuffer.allocateDirect(1 << 20);
    random = new SplittableRandom(42);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    chain.close();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Random 4 KiB reads (ops/s = IOPS). */
  @Benchmark
  public ByteBuffer randomRead4k() throws IOException {
    small.clear();
    chain.read(random.nextLong(SIZE / 4096) * 4096, small);
    return small;
  }

  /** Sequential 1 MiB reads, wrapping around (ops/s = MiB/s). */
  @Benchmark
  public ByteBuffer sequentialRead1m() throws IOException {
    large.clear();
    chain.read(sequential, large);
    sequential = (sequential + (1 << 20)) % SIZE;
    return large;
  }
}
