package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Round trips with xva-img (Debian's build reads .checksum): our export rebuilt disk by disk equals
 * the source; an archive built by xva-img imports into our SR with identical contents.
 */
class XvaImgIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Cli xe(String verb, String... args) {
    String[] full = new String[args.length + 3];
    full[0] = verb;
    full[1] = "--sr";
    full[2] = dir.resolve("sr").toString();
    System.arraycopy(args, 0, full, 3, args.length);
    return Cli.run(full);
  }

  private String vdiFile(String uuid) {
    return dir.resolve("sr").resolve(uuid + ".vhd").toString();
  }

  @Test
  void xvaImgRebuildsEveryDiskOfOurExport() throws Exception {
    String a = xe("vdi-create", "name-label=root", "virtual-size=16M").ok().out().trim();
    String b = xe("vdi-create", "name-label=odd", "virtual-size=3M+512").ok().out().trim();
    Cli.run(
            "io",
            vdiFile(a),
            "-c",
            "write -P 0x11 0 1M",
            "-c",
            "write -P 0x12 7M+512 3K",
            "-c",
            "write -P 0x13 15M 1M")
        .ok();
    Cli.run("io", vdiFile(b), "-c", "write -P 0x21 3M 512").ok();
    String vm = xe("vm-create", "name-label=exp").ok().out().trim();
    xe("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + a, "device=0", "bootable=true").ok();
    xe("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + b, "device=1").ok();
    xe("vm-export", "vm=exp", "filename=" + dir.resolve("exp.xva")).ok();
    Cli.run("xva-verify", dir.resolve("exp.xva").toString()).ok();

    Path x = Files.createDirectories(dir.resolve("x"));
    Proc.ok(x, "tar", "-xf", dir.resolve("exp.xva").toString());
    Proc.ok(x, "chmod", "-R", "u+rwX", ".");
    JsonNode list =
        JSON.readTree(Cli.run("xva-list", "--json", dir.resolve("exp.xva").toString()).ok().out());
    assertThat(list.get("disks")).hasSize(2);
    for (JsonNode d : list.get("disks")) {
      String id = d.get("id").asText();
      Proc.ok(x, "xva-img", "disk-export", id, id + ".raw");
      String source = d.get("name-label").asText().equals("root") ? a : b;
      Cli.run("compare", x.resolve(id + ".raw").toString(), vdiFile(source)).ok();
      assertThat(Files.size(x.resolve(id + ".raw"))).isEqualTo(d.get("virtual-size").asLong());
    }
  }

  @Test
  void anArchiveBuiltByXvaImgImportsIdentically() throws Exception {
    // ova.xml from our export of a VM with one 8 MiB disk; the disk's chunks from xva-img.
    String a = xe("vdi-create", "name-label=root", "virtual-size=8M").ok().out().trim();
    String vm = xe("vm-create", "name-label=src").ok().out().trim();
    xe("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + a, "device=0", "bootable=true").ok();
    xe("vm-export", "vm=src", "filename=" + dir.resolve("meta.xva")).ok();
    Path vmDir = Files.createDirectories(dir.resolve("vm"));
    Proc.ok(vmDir, "tar", "-xf", dir.resolve("meta.xva").toString(), "ova.xml");
    String id =
        JSON.readTree(Cli.run("xva-list", "--json", dir.resolve("meta.xva").toString()).ok().out())
            .get("disks")
            .get(0)
            .get("id")
            .asText();

    byte[] raw = new byte[8 << 20];
    new Random(7).nextBytes(raw);
    java.util.Arrays.fill(raw, 2 << 20, 5 << 20, (byte) 0); // zero MiB blocks xva-img omits
    Files.write(dir.resolve("d.raw"), raw);
    Files.createDirectories(vmDir.resolve(id));
    Proc.ok(dir, "xva-img", "disk-import", "vm/" + id, "d.raw");
    Proc.ok(dir, "xva-img", "package", "theirs.xva", "vm/ova.xml", "vm/" + id + "/");

    String imported = xe("vm-import", "filename=" + dir.resolve("theirs.xva")).ok().out().trim();
    JsonNode disks = JSON.readTree(xe("vm-disk-list", "--json", "vm=" + imported).ok().out());
    assertThat(disks).hasSize(1);
    Cli.run("compare", vdiFile(disks.get(0).get("uuid").asText()), dir.resolve("d.raw").toString())
        .ok();
  }
}
