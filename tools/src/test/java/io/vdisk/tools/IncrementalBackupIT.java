package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incremental backups with tools nobody here wrote: changed-block lists against a model of the
 * writes, a delta VHD over a full export read as the VDI by vdisk and by libvhdi's vhdimount, a
 * restore from full + delta compared by qemu-img, the changes served as an NBD dirty bitmap read by
 * nbdinfo, and a writer killed with -9 leaving a log that refuses to answer.
 */
class IncrementalBackupIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long BLOCK = 64 << 10;

  @TempDir Path dir;

  private String sr() {
    return dir.resolve("sr").toString();
  }

  private Cli xe(String... args) {
    List<String> a = new ArrayList<>(List.of(args[0], "--sr", sr()));
    a.addAll(List.of(args).subList(1, args.length));
    return Cli.run(a.toArray(new String[0]));
  }

  private String f(String name) {
    return dir.resolve(name).toString();
  }

  private String vhd(String vdi) {
    return dir.resolve("sr").resolve(vdi + ".vhd").toString();
  }

  @Test
  void deltasOverFullExportsReadAsTheVdiEverywhereAndRestoreIt() throws Exception {
    xe("sr-create").ok();
    String vdi = xe("vdi-create", "name-label=data", "virtual-size=32MiB").ok().out().trim();
    xe("vdi-enable-cbt", "uuid=" + vdi).ok();
    Cli.run("io", vhd(vdi), "-c", "write -P 0x11 0 6M").ok();
    String s1 = xe("vdi-snapshot", "uuid=" + vdi).ok().out().trim();
    Path backup = Files.createDirectories(dir.resolve("backup"));
    xe("vdi-export", "uuid=" + s1, "format=vhd", "filename=" + backup.resolve(s1 + ".vhd")).ok();

    // 4 KiB-aligned runs: libvhdi misreads a bitmap byte with a set bit before a clear one
    long[][] writes = {{1 << 20, 4096}, {(3 << 20) - 32768, 65536}, {8 << 20, 2 << 20}};
    for (long[] w : writes) {
      Cli.run("io", vhd(vdi), "-c", "write -P 0x22 " + w[0] + " " + w[1]).ok();
    }
    Cli.run("io", vhd(vdi), "-c", "write -z " + (2 << 20) + " 4096").ok();
    Cli.run("io", vhd(vdi), "-c", "write -P 0x23 " + ((32 << 20) - 4096) + " 4096").ok();
    String s2 = xe("vdi-snapshot", "uuid=" + vdi).ok().out().trim();

    TreeSet<Long> model = new TreeSet<>();
    List<long[]> all = new ArrayList<>(List.of(writes));
    all.add(new long[] {2 << 20, 4096});
    all.add(new long[] {(32 << 20) - 4096, 4096});
    for (long[] w : all) {
      for (long b = w[0] / BLOCK; b <= (w[0] + w[1] - 1) / BLOCK; b++) {
        model.add(b);
      }
    }
    JsonNode list =
        JSON.readTree(
            xe("vdi-list-changed-blocks", "vdi-from-uuid=" + s1, "vdi-to-uuid=" + s2, "--json")
                .ok()
                .out());
    TreeSet<Long> listed = new TreeSet<>();
    for (JsonNode e : list.get("extents")) {
      for (long o = e.get("offset").asLong();
          o < e.get("offset").asLong() + e.get("length").asLong();
          o += BLOCK) {
        listed.add(o / BLOCK);
      }
    }
    assertThat(listed).as("changed blocks: exactly the written ones").isEqualTo(model);
    assertThat(list.get("source").asText()).isEqualTo("layers");
    assertThat(
            xe("vdi-list-changed-blocks", "vdi-from-uuid=" + s1, "vdi-to-uuid=" + s2)
                .ok()
                .out()
                .trim())
        .isEqualTo(list.get("bitmap").asText());

    xe("vdi-export", "uuid=" + s2, "format=raw", "filename=" + f("s2.raw")).ok();
    Path delta = backup.resolve("delta.vhd");
    xe("vdi-export", "uuid=" + s2, "base=" + s1, "format=vhd", "filename=" + delta).ok();
    assertThat(Files.size(delta)).as("sparse").isLessThan(40L << 20);
    // vdisk and libvhdi read full + delta as the snapshot
    Cli.run("compare", delta.toString(), f("s2.raw")).ok();
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Proc.ok(dir, "vhdimount", delta.toString(), mnt.toString());
    try {
      Proc.ok(
          dir,
          "qemu-img",
          "compare",
          "-f",
          "raw",
          "-F",
          "raw",
          mnt.resolve("vhdi2").toString(),
          f("s2.raw"));
    } finally {
      Proc.run(dir, "fusermount", "-u", mnt.toString());
    }
    assertThat(Proc.ok(dir, "vhdiinfo", delta.toString()).out())
        .contains("Differential")
        .contains("Parent identifier\t: " + s1);

    // restore: a new VDI, the full export, then the delta
    String restored =
        xe("vdi-create", "name-label=restored", "virtual-size=32MiB").ok().out().trim();
    Cli wrongOrder = xe("vdi-import", "uuid=" + restored, "filename=" + delta, "format=vhd");
    assertThat(wrongOrder.exit()).isEqualTo(6);
    assertThat(wrongOrder.err()).contains("import its base first");
    xe("vdi-import", "uuid=" + restored, "filename=" + backup.resolve(s1 + ".vhd"), "format=vhd")
        .ok();
    xe("vdi-import", "uuid=" + restored, "filename=" + delta, "format=vhd").ok();
    xe("vdi-export", "uuid=" + restored, "format=raw", "filename=" + f("restored.raw")).ok();
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "raw", f("restored.raw"), f("s2.raw"));

    // the raw delta: changed ranges only, holes elsewhere
    JsonNode raw =
        JSON.readTree(
            xe(
                    "vdi-export",
                    "uuid=" + s2,
                    "base=" + s1,
                    "format=raw",
                    "filename=" + f("d.raw"),
                    "--json")
                .ok()
                .out());
    assertThat(raw.get("bytes").asLong()).isEqualTo(all.stream().mapToLong(w -> w[1]).sum());
    assertThat(Files.readAllBytes(dir.resolve("d.raw"))[(1 << 20) + 10]).isEqualTo((byte) 0x22);

    // NBD: the live VDI's export carries the changes since each snapshot as a dirty bitmap
    Cli.run("io", vhd(vdi), "-c", "write -P 0x31 " + (20 << 20) + " 512").ok();
    JsonNode live =
        JSON.readTree(
            xe("vdi-list-changed-blocks", "vdi-from-uuid=" + s1, "vdi-to-uuid=" + vdi, "--json")
                .ok()
                .out());
    List<String> want = new ArrayList<>();
    for (JsonNode e : live.get("exact-extents")) {
      want.add(e.get("offset").asLong() + " " + e.get("length").asLong());
    }
    Path sock = dir.resolve("s.sock");
    Process server =
        Served.start(dir, "serve", "--read-only", "--listen", "unix:" + sock, vhd(vdi));
    try {
      String uri = "nbd+unix:///" + vdi + ".vhd?socket=" + sock;
      List<String> dirty = new ArrayList<>();
      for (String line :
          Proc.ok(dir, "nbdinfo", "--map=qemu:dirty-bitmap:" + s1, uri)
              .out()
              .trim()
              .split("\n", -1)) {
        String[] w = line.trim().split("\\s+", -1);
        if (w[2].equals("1")) {
          dirty.add(w[0] + " " + w[1]);
        }
      }
      assertThat(dirty).as("nbdinfo's dirty runs = vdi-list-changed-blocks").isEqualTo(want);
      // qemu's client reads the context too: x-dirty-bitmap reports dirty runs as unallocated
      JsonNode map =
          JSON.readTree(
              Proc.ok(
                      dir,
                      "qemu-img",
                      "map",
                      "--output=json",
                      "--image-opts",
                      "driver=nbd,server.type=unix,server.path="
                          + sock
                          + ",export="
                          + vdi
                          + ".vhd,x-dirty-bitmap=qemu:dirty-bitmap:"
                          + s1)
                  .out());
      List<String> qemuDirty = new ArrayList<>();
      for (JsonNode e : map) {
        if (!e.get("data").asBoolean()) {
          qemuDirty.add(e.get("start").asLong() + " " + e.get("length").asLong());
        }
      }
      assertThat(qemuDirty).as("qemu-img map x-dirty-bitmap").isEqualTo(want);
    } finally {
      server.destroy();
      server.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Xen Orchestra's vhd-lib merges our delta into our full export, as XO's delta backups merge as
   * they age, and reads the result as the snapshot. The base holds every block the delta changes in
   * part: vhd-lib 0.7.2 (the newest the npm registry serves whole) reads the parent's bitmap of a
   * partly changed block before it would create a missing one, and fails there.
   */
  @Test
  void xenOrchestrasVhdLibMergesOurDeltaIntoOurFullExport() throws Exception {
    xe("sr-create").ok();
    String vdi = xe("vdi-create", "name-label=data", "virtual-size=16MiB").ok().out().trim();
    Cli.run("io", vhd(vdi), "-c", "write -P 0x11 0 16M").ok();
    String s1 = xe("vdi-snapshot", "uuid=" + vdi).ok().out().trim();
    Path base = dir.resolve(s1 + ".vhd");
    xe("vdi-export", "uuid=" + s1, "format=vhd", "filename=" + base).ok();
    Cli.run(
            "io",
            vhd(vdi),
            "-c",
            "write -P 0x21 512 512",
            "-c",
            "write -P 0x22 3M 4K",
            "-c",
            "write -z 5M 64K",
            "-c",
            "write -P 0x23 8M 2M",
            "-c",
            "write -P 0x24 16383K 1K")
        .ok();
    String s2 = xe("vdi-snapshot", "uuid=" + vdi).ok().out().trim();
    Path delta = dir.resolve("delta.vhd");
    xe("vdi-export", "uuid=" + s2, "base=" + s1, "format=vhd", "filename=" + delta).ok();
    xe("vdi-export", "uuid=" + s2, "format=raw", "filename=" + f("s2.raw")).ok();
    Path merge = Path.of("../scripts/xo/merge.js").toAbsolutePath().normalize();
    assertThat(merge.resolveSibling("node_modules").resolve("vhd-lib"))
        .as("scripts/setup.sh installs vhd-lib")
        .isDirectory();
    Proc.ok(dir, "node", merge.toString(), base.toString(), delta.toString(), f("xo.raw"));
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "raw", f("xo.raw"), f("s2.raw"));
    Cli.run("compare", base.toString(), f("s2.raw")).ok(); // vdisk reads XO's merged VHD
  }

  /** vdisk backup / backup-list / restore from the command line, with keep= merging. */
  @Test
  void backupRunsMergeAndRestoreFromTheCommandLine() throws Exception {
    xe("sr-create").ok();
    String disk = xe("vdi-create", "name-label=root", "virtual-size=8MiB").ok().out().trim();
    String vm = xe("vm-create", "name-label=web").ok().out().trim();
    xe("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0", "bootable=true").ok();
    Path to = dir.resolve("backups");
    List<String> states = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      Cli.run("io", vhd(disk), "-c", "write -P " + (0x41 + round) + " " + round + "M 4K").ok();
      xe("vdi-export", "uuid=" + disk, "format=raw", "filename=" + f("state" + round + ".raw"))
          .ok();
      states.add(f("state" + round + ".raw"));
      JsonNode run =
          JSON.readTree(xe("backup", "vm=web", "to=" + to, "--keep", "2", "--json").ok().out());
      assertThat(run.get("disks").get(0).get("kind").asText())
          .isEqualTo(round == 0 ? "full" : "delta");
      assertThat(run.get("merged")).hasSize(round == 2 ? 1 : 0);
    }
    Path vmDir = to.resolve(vm);
    JsonNode runs = JSON.readTree(xe("backup-list", "from=" + vmDir, "--json").ok().out());
    assertThat(runs).hasSize(2);
    assertThat(runs.get(0).get("kind").asText()).as("merged into a full run").isEqualTo("full");
    for (int i = 0; i < 2; i++) {
      String restored =
          xe(
                  "restore",
                  "from=" + vmDir,
                  "at=" + runs.get(i).get("time").asText(),
                  "new-name-label=r" + i)
              .ok()
              .out()
              .trim();
      String vdi =
          JSON.readTree(xe("vm-disk-list", "vm=" + restored, "--json").ok().out())
              .get(0)
              .get("uuid")
              .asText();
      xe("vdi-export", "uuid=" + vdi, "format=raw", "filename=" + f("r" + i + ".raw")).ok();
      Proc.ok(
          dir,
          "qemu-img",
          "compare",
          "-f",
          "raw",
          "-F",
          "raw",
          f("r" + i + ".raw"),
          states.get(i + 1));
    }
    Cli bad = xe("restore", "from=" + dir.resolve("nothing"));
    assertThat(bad.exit()).isEqualTo(6);
    assertThat(bad.err()).contains("no backup runs");
  }

  @Test
  void aWriterKilledWithMinus9LeavesALogThatRefusesToAnswer() throws Exception {
    xe("sr-create").ok();
    String vdi = xe("vdi-create", "name-label=data", "virtual-size=16MiB").ok().out().trim();
    xe("vdi-enable-cbt", "uuid=" + vdi).ok();
    String s1 = xe("vdi-snapshot", "uuid=" + vdi).ok().out().trim();
    Cli.run("io", vhd(vdi), "-c", "write -P 0x22 1M 4K").ok();
    xe("vdi-data-destroy", "uuid=" + s1).ok();
    JsonNode before =
        JSON.readTree(
            xe("vdi-list-changed-blocks", "vdi-from-uuid=" + s1, "vdi-to-uuid=" + vdi, "--json")
                .ok()
                .out());
    assertThat(before.get("source").asText()).isEqualTo("cbt");
    assertThat(before.get("changed-blocks").asLong()).isEqualTo(1);

    Path sock = dir.resolve("w.sock");
    Process server = Served.start(dir, "w", "--listen", "unix:" + sock, vhd(vdi));
    Proc.ok(
        dir,
        "qemu-io",
        "-f",
        "raw",
        "-c",
        "write -P 0x33 8M 64k",
        "nbd+unix:///" + vdi + ".vhd?socket=" + sock);
    server.destroyForcibly();
    assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();

    Cli refused = xe("vdi-list-changed-blocks", "vdi-from-uuid=" + s1, "vdi-to-uuid=" + vdi);
    assertThat(refused.exit()).isEqualTo(6);
    assertThat(refused.err()).contains("inconsistent").contains("full backup");
    assertThat(Cli.run("io", vhd(vdi), "-c", "read -P 0x33 8M 64k").ok().out()).contains("read");
  }
}
