package io.vdisk.bench;

import io.vdisk.engine.ChangedBlocks;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * vdi-list-changed-blocks on a 2000 GiB disk (VHD's limit is 2040 GiB; its BAT has 1,024,000
 * entries): a base holding 64 MiB, a snapshot and a live leaf over it, the leaf holding {@code
 * changes} runs of 4 KiB spread over the whole disk. Milliseconds per listing of the open chains
 * (what a server that holds them open, such as {@code vdisk serve}, pays), xapi's bitmap encoded.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ChangedBlocksBenchmark {
  private static final long SIZE = 2000L << 30;

  @Param({"100", "10000"})
  public int changes;

  private Path dir;
  private DiskChain snapshot;
  private DiskChain live;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("vdisk-bench-cbt");
    Path base = dir.resolve("base.vhd");
    VhdCreator.createDynamic(StorageProvider.FILES, base, VhdCreator.Spec.dynamic(SIZE));
    try (DiskChain d = DiskChain.open(base, false)) {
      for (int b = 0; b < 32; b++) {
        d.write((long) b * Chains.BLOCK, Chains.blockData(b));
      }
    }
    Snapshots.createChild(base, dir.resolve("snap.vhd"));
    Snapshots.createChild(base, dir.resolve("live.vhd"));
    try (DiskChain d = DiskChain.open(dir.resolve("live.vhd"), false)) {
      long stride = (SIZE / changes) & -65536L; // aligned: each write is eight whole sectors
      for (int i = 0; i < changes; i++) {
        d.write(i * stride + 8192, ByteBuffer.allocate(4096));
      }
    }
    snapshot = DiskChain.open(dir.resolve("snap.vhd"), true);
    live = DiskChain.open(dir.resolve("live.vhd"), true);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    snapshot.close();
    live.close();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Benchmark
  public String listChangedBlocks() throws IOException {
    ChangedBlocks c = ChangedBlocks.between(snapshot, live);
    if (c.changedBytes() != 4096L * changes) {
      throw new IllegalStateException("wrong answer: " + c.changedBytes());
    }
    return c.xapiBitmap();
  }
}
