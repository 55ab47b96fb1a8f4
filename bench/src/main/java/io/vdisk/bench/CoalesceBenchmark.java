package io.vdisk.bench;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Coalesce of a child holding 256 MiB (full 2 MiB blocks) into an empty parent: seconds per
 * coalesce, fsyncs included; 256 MiB divided by it is the throughput.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(1)
public class CoalesceBenchmark {
  private static final long DATA = 256L << 20;
  private Path dir;

  @Setup(Level.Invocation)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("vdisk-bench-coalesce");
    VhdCreator.createDynamic(
        StorageProvider.FILES, dir.resolve("base.vhd"), VhdCreator.Spec.dynamic(2 * DATA));
    Snapshots.createChild(dir.resolve("base.vhd"), dir.resolve("child.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("child.vhd"), false)) {
      for (int b = 0; b < DATA / Chains.BLOCK; b++) {
        d.write((long) b * Chains.BLOCK, Chains.blockData(b));
      }
    }
  }

  @TearDown(Level.Invocation)
  public void tearDown() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Benchmark
  public Coalescer.Result coalesce256MiB() throws IOException {
    return Coalescer.coalesce(StorageProvider.FILES, dir.resolve("child.vhd"), false);
  }
}
