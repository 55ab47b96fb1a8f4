package io.vdisk.bench;

import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Progress;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vdis;
import io.vdisk.engine.sr.Vms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
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
 * The SR's two promises: vm-clone of a template with a 2 GiB disk (1 GiB of data) takes
 * milliseconds whatever the disk holds, and vm-copy of a VM whose disk is 10 layers deep runs at
 * the speed of the plain full-copy path ({@code flattenSameChain}: Converter on the same chain).
 * Each is one operation per measurement, fsyncs and the catalog's transaction included.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(1)
public class SrBenchmark {
  private Path dir;
  private StorageRepository sr;
  private String template;
  private String deepVm;
  private String deepDisk;
  private int counter;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("vdisk-bench-sr");
    sr = StorageRepository.create(dir, "bench");
    String disk = Vdis.create(sr, "root", "", 2L << 30);
    try (VirtualDisk d = sr.openVdi(disk, false)) {
      for (int b = 0; b < 512; b++) {
        d.write((long) b * 2 * Chains.BLOCK, Chains.blockData(b));
      }
    }
    template = Vms.create(sr, "template", "", 2, 2L << 30);
    Vms.createVbd(sr, template, disk, "0", true, "RW");
    Vms.setParams(sr, template, Map.of("is-a-template", "true"));

    // A VM whose 1 GiB disk is 10 layers deep, half of its blocks written, dealt over the layers.
    deepDisk = Vdis.create(sr, "deep", "", 1L << 30);
    for (int layer = 0; layer < 10; layer++) {
      if (layer > 0) {
        Vdis.snapshot(sr, deepDisk);
      }
      try (VirtualDisk d = sr.openVdi(deepDisk, false)) {
        for (int b = layer; b < 512; b += 10) {
          if (b % 2 == 0) {
            d.write((long) b * Chains.BLOCK, Chains.blockData(b));
          }
        }
      }
    }
    deepVm = Vms.create(sr, "deep", "", 1, 1L << 30);
    Vms.createVbd(sr, deepVm, deepDisk, "0", true, "RW");
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    sr.close();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Benchmark
  public String vmCloneTemplate2GiB() throws IOException {
    return Vms.cloneVm(sr, template, "clone-" + counter++);
  }

  @Benchmark
  public String vmCopyDepth10() throws IOException {
    String vm = Vms.copyVm(sr, deepVm, "copy-" + counter++);
    Vms.uninstall(sr, vm);
    return vm;
  }

  @Benchmark
  public Converter.Result flattenSameChain() throws IOException {
    Path out = dir.resolve("flat-" + counter++ + ".raw.vhd");
    try (DiskChain c = DiskChain.open(dir.resolve(deepDisk + ".vhd"), true)) {
      return Converter.convert(c, out, Converter.Target.VHD, Progress.NONE);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
