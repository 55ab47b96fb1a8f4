package io.vdisk.bench;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
 * Latency of a 4 KiB write that allocates a new block against one that rewrites an allocated block
 * (xcp-ng #557: first writes ten times slower), each with and without the flush that makes it
 * durable (allocation commits a bitmap, a BAT sector and the footer: three fsyncs).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class WriteBenchmark {
  @Param({"false", "true"})
  public boolean flush;

  private Path file;
  private DiskChain disk;
  private ByteBuffer data;
  private long nextBlock;

  @Setup(Level.Iteration)
  public void setUp() throws IOException {
    file = Files.createTempFile("vdisk-bench-write", ".vhd");
    Files.delete(file);
    VhdCreator.createDynamic(StorageProvider.FILES, file, VhdCreator.Spec.dynamic(2000L << 30));
    disk = DiskChain.open(file, false);
    data = ByteBuffer.allocateDirect(4096);
    disk.write(0, data.clear());
    nextBlock = 1;
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws IOException {
    disk.close();
    Files.delete(file);
  }

  @Benchmark
  public void allocatingWrite() throws IOException {
    disk.write(nextBlock++ * Chains.BLOCK, data.clear());
    if (flush) {
      disk.flush();
    }
  }

  @Benchmark
  public void rewrite() throws IOException {
    disk.write(8192, data.clear());
    if (flush) {
      disk.flush();
    }
  }
}
