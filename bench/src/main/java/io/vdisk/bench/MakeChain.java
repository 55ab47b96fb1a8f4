package io.vdisk.bench;

import io.vdisk.engine.Converter;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Progress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code MakeChain DIR SIZE_MIB DEPTH}: builds a chain of DEPTH layers in DIR with about half of
 * the 2 MiB blocks allocated (random data), and {@code chain.raw}, a sparse raw copy of its
 * contents, for bench/compare.sh.
 */
public final class MakeChain {
  private MakeChain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createDirectories(Path.of(args[0]));
    long size = Long.parseLong(args[1]) << 20;
    int depth = Integer.parseInt(args[2]);
    Path leaf = Chains.build(dir, size, depth, b -> ((b * 2654435761L) >>> 7) % 2 == 0, false);
    try (DiskChain chain = DiskChain.open(leaf, true)) {
      Converter.convert(chain, dir.resolve("chain.raw"), Converter.Target.RAW, Progress.NONE);
    }
    System.out.println(leaf);
  }
}
