package io.vdisk.bench;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.Vdis;
import io.vdisk.engine.sr.Vms;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code MakeSr DIR N}: an SR in DIR holding N empty 1 GiB VDIs, one of them the disk of a template
 * {@code tmpl} (printed: its UUID), for bench/compare.sh's start-up and vm-clone figures (made
 * through the engine, which is much faster than N command lines).
 */
public final class MakeSr {
  private MakeSr() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createDirectories(Path.of(args[0]));
    int n = Integer.parseInt(args[1]);
    try (StorageRepository sr = StorageRepository.create(dir, "MakeSr")) {
      String disk = Vdis.create(sr, "root", "", 1L << 30);
      for (int i = 1; i < n; i++) {
        Vdis.create(sr, "disk-" + i, "", 1L << 30);
      }
      String t = Vms.create(sr, "tmpl", "", 1, 1L << 30);
      Vms.createVbd(sr, t, disk, "0", true, "RW");
      Vms.setParams(sr, t, Map.of("is-a-template", "true"));
      System.out.println(t);
    }
  }
}
