package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image verbs as a qemu-img user types them, checked against qemu-img on the same files:
 * convert's default raw output, its extension check, {@code -O qcow2} ({@code qemu-img check} and
 * {@code compare}), {@code -o subformat=fixed}, {@code -S 0}, {@code -n}, {@code -p}; {@code info
 * --output=json}'s field names and values; {@code create} in qemu's form with {@code -b -F}; {@code
 * rebase} (safe and {@code -u}) and {@code commit}.
 */
class QemuHabitsIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private String f(String name) {
    return dir.resolve(name).toString();
  }

  private Proc qemu(String... args) throws Exception {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "qemu-img";
    System.arraycopy(args, 0, cmd, 1, args.length);
    return Proc.ok(dir, cmd);
  }

  /** A depth-3 chain with data in every layer, and the raw image of its contents. */
  @BeforeEach
  void chain() throws Exception {
    Cli.run("create", "-f", "vpc", f("base.vhd"), "64M").ok();
    Cli.run("io", f("base.vhd"), "-c", "write -P 0x11 0 5M", "-c", "write -P 0x12 33M 1M").ok();
    Cli.run("create", "-f", "vpc", "-b", f("base.vhd"), "-F", "vpc", f("mid.vhd")).ok();
    Cli.run("io", f("mid.vhd"), "-c", "write -P 0x21 4M 2M", "-c", "write -P 0x22 20M 4K").ok();
    Cli.run("create", "-b", f("mid.vhd"), f("leaf.vhd")).ok();
    Cli.run("io", f("leaf.vhd"), "-c", "write -P 0x31 1M 512", "-c", "write -z 33M 64K").ok();
  }

  @Test
  void convertWritesRawByDefaultAndRefusesANameThatSaysOtherwise() throws Exception {
    Cli.run("convert", f("leaf.vhd"), f("leaf.raw")).ok();
    assertThat(Files.size(dir.resolve("leaf.raw"))).isEqualTo(64L << 20);
    Cli.run("compare", f("leaf.vhd"), f("leaf.raw")).ok();
    // qemu-img reads vpc without the chain: it checks the chain flattened into one VHD
    Cli.run("convert", "-O", "vpc", f("leaf.vhd"), f("flat.vhd")).ok();
    qemu("compare", "-f", "raw", "-F", "vpc", f("leaf.raw"), f("flat.vhd"));
    Proc du = Proc.ok(dir, "du", "-B1", f("leaf.raw"));
    assertThat(Long.parseLong(du.out().split("\\s+", -1)[0])).as("sparse").isLessThan(16L << 20);
    for (String[] wrong :
        new String[][] {
          {f("leaf.vhd"), f("x.qcow2")},
          {f("leaf.vhd"), f("x.vhd")},
          {"-O", "vpc", f("leaf.vhd"), f("x.raw")},
          {"-O", "qcow2", f("leaf.vhd"), f("x.img")}
        }) {
      String[] args = new String[wrong.length + 1];
      args[0] = "convert";
      System.arraycopy(wrong, 0, args, 1, wrong.length);
      Cli r = Cli.run(args);
      assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(ExitCode.USAGE);
      assertThat(r.err().trim()).contains("is named as a").hasLineCount(1);
    }
    try (var s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("x."));
    }
  }

  @Test
  void qcow2OutputPassesQemuImgCheckAndCompare() throws Exception {
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("leaf.raw")).ok();
    Cli.run("convert", "-p", "-O", "qcow2", f("leaf.vhd"), f("leaf.qcow2")).ok();
    assertThat(qemu("check", "-f", "qcow2", f("leaf.qcow2")).out())
        .contains("No errors were found");
    assertThat(qemu("compare", "-f", "raw", "-F", "qcow2", f("leaf.raw"), f("leaf.qcow2")).out())
        .contains("Images are identical");
    JsonNode info = JSON.readTree(qemu("info", "--output=json", f("leaf.qcow2")).out());
    assertThat(info.get("format").asText()).isEqualTo("qcow2");
    assertThat(info.get("virtual-size").asLong()).isEqualTo(64L << 20);
    assertThat(info.get("cluster-size").asLong()).isEqualTo(65536);
    // unallocated where the chain holds nothing: qemu's map of it lists only the data
    String map = qemu("map", "--output=json", "-f", "qcow2", f("leaf.qcow2")).out();
    JsonNode extents = JSON.readTree(map);
    long data = 0;
    for (JsonNode e : extents) {
      if (e.get("data").asBoolean()) {
        data += e.get("length").asLong();
      }
    }
    assertThat(data).isBetween(7L << 20, 10L << 20);
    // an SR VDI exported as qcow2 reads the same
    Path sr = Files.createDirectories(dir.resolve("sr"));
    Cli.run("sr-create", "--sr", sr.toString()).ok();
    String vdi =
        Cli.run("vdi-create", "--sr", sr.toString(), "name-label=d", "virtual-size=64MiB")
            .ok()
            .out()
            .trim();
    Cli.run(
            "vdi-import",
            "--sr",
            sr.toString(),
            "uuid=" + vdi,
            "filename=" + f("leaf.raw"),
            "format=raw")
        .ok();
    Cli.run(
            "vdi-export",
            "--sr",
            sr.toString(),
            "uuid=" + vdi,
            "filename=" + f("vdi.qcow2"),
            "format=qcow2")
        .ok();
    qemu("check", f("vdi.qcow2"));
    qemu("compare", "-f", "raw", "-F", "qcow2", f("leaf.raw"), f("vdi.qcow2"));
  }

  @Test
  void subformatSparseSizeAndWritingIntoAnExistingImage() throws Exception {
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("leaf.raw")).ok();
    Cli.run("convert", "-O", "vpc", "-o", "subformat=fixed", f("leaf.vhd"), f("fixed.vhd")).ok();
    JsonNode fixed =
        JSON.readTree(qemu("info", "--output=json", "-f", "vpc", f("fixed.vhd")).out());
    assertThat(fixed.get("format").asText()).isEqualTo("vpc");
    assertThat(Files.size(dir.resolve("fixed.vhd"))).isEqualTo((64L << 20) + 512);
    qemu("compare", "-f", "raw", "-F", "vpc", f("leaf.raw"), f("fixed.vhd"));
    // (a fixed VHD has no header copy at 0: qemu probes it as raw unless -f vpc)
    // -S 0: every byte written, as qemu-img's -S 0 makes a fully allocated file
    Cli.run("convert", "-S", "0", f("leaf.vhd"), f("full.raw")).ok();
    Proc du = Proc.ok(dir, "du", "-B1", f("full.raw"));
    assertThat(Long.parseLong(du.out().split("\\s+", -1)[0])).isGreaterThanOrEqualTo(64L << 20);
    // -n: an existing image full of other bytes ends up holding exactly the source
    Proc.ok(dir, "sh", "-c", "head -c 67108864 /dev/urandom > " + f("garbage.raw"));
    Cli.run("convert", "-n", f("leaf.vhd"), f("garbage.raw")).ok();
    qemu("compare", "-f", "raw", "-F", "raw", f("leaf.raw"), f("garbage.raw"));
    Cli.run("create", "-f", "vpc", f("target.vhd"), "64M").ok();
    Cli.run("io", f("target.vhd"), "-c", "write -P 0x77 0 64M").ok();
    Cli.run("convert", "-n", "-O", "vpc", f("leaf.vhd"), f("target.vhd")).ok();
    qemu("compare", "-f", "raw", "-F", "vpc", f("leaf.raw"), f("target.vhd"));
    // -p in a pipe: plain progress lines
    Proc piped =
        Proc.ok(
            dir,
            "sh",
            "-c",
            "java -jar " + Cli.jar() + " convert -p -O qcow2 leaf.vhd p.qcow2 2>&1 | cat");
    assertThat(piped.out()).contains("convert: 100% 64.0 MiB/64.0 MiB").doesNotContain("\r");
    assertThat(Cli.run("convert", "-m", "0", f("leaf.vhd"), f("m.raw")).exit())
        .isEqualTo(ExitCode.USAGE);
  }

  @Test
  void infoJsonHasQemuImgsFieldsWithItsValues() throws Exception {
    Cli.run("create", "-f", "vpc", f("plain.vhd"), "48M").ok();
    Cli.run("io", f("plain.vhd"), "-c", "write -P 1 0 1M").ok();
    for (String[] args :
        new String[][] {{"--output=json", "plain.vhd"}, {"--output=json", "leaf.raw"}}) {
      if (args[1].endsWith(".raw")) {
        Cli.run("convert", f("leaf.vhd"), f("leaf.raw")).ok();
      }
      JsonNode q = JSON.readTree(qemu("info", args[0], args[1]).out());
      JsonNode v =
          JSON.readTree(Proc.ok(dir, "java", "-jar", jar(), "info", args[0], args[1]).out());
      for (Iterator<String> it = q.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        assertThat(v.has(field)).as(args[1] + ": qemu-img's field " + field).isTrue();
        if (!field.equals("actual-size")) {
          assertThat(v.get(field)).as(args[1] + ": " + field).isEqualTo(q.get(field));
        }
      }
    }
    JsonNode leaf = JSON.readTree(Cli.run("info", "--output=json", f("leaf.vhd")).ok().out());
    assertThat(leaf.get("backing-filename").asText()).isEqualTo("mid.vhd");
    assertThat(leaf.get("full-backing-filename").asText()).isEqualTo(f("mid.vhd"));
    assertThat(leaf.get("backing-filename-format").asText()).isEqualTo("vpc");
    assertThat(leaf.get("chain-depth").asInt()).isEqualTo(3);
    // deterministic key order
    assertThat(Cli.run("check", "--json", f("leaf.vhd")).ok().out())
        .isEqualTo(Cli.run("check", "--json", f("leaf.vhd")).ok().out())
        .startsWith("{\n  \"file\"");
  }

  private static String jar() {
    return Cli.jar();
  }

  @Test
  void createRebaseAndCommitAsQemuImgMeansThem() throws Exception {
    Cli.run("create", "-f", "vpc", "-o", "subformat=fixed", f("fx.vhd"), "16M").ok();
    JsonNode fx = JSON.readTree(qemu("info", "--output=json", "-f", "vpc", f("fx.vhd")).out());
    assertThat(fx.get("virtual-size").asLong()).isEqualTo(16L << 20);
    assertThat(Files.size(dir.resolve("fx.vhd"))).isEqualTo((16L << 20) + 512);
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("before.raw")).ok();
    // a new base with other bytes: the safe rebase copies what differs, contents unchanged
    Cli.run("convert", "-O", "vpc", f("base.vhd"), f("other.vhd")).ok();
    Cli.run("io", f("other.vhd"), "-c", "write -P 0x99 0 16M").ok();
    Cli.run("rebase", "-b", f("other.vhd"), "-F", "vpc", f("leaf.vhd")).ok();
    assertThat(Cli.run("info", "--json", f("leaf.vhd")).ok().out()).contains("\"other.vhd\"");
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("after.raw")).ok();
    qemu("compare", "-f", "raw", "-F", "raw", f("before.raw"), f("after.raw"));
    // commit: the parent takes the child's contents, the child is empty over it
    Cli.run("commit", f("leaf.vhd")).ok();
    Cli.run("convert", "-O", "raw", f("other.vhd"), f("other.raw")).ok();
    qemu("compare", "-f", "raw", "-F", "raw", f("before.raw"), f("other.raw"));
    assertThat(Cli.run("info", "--json", f("leaf.vhd")).ok().out())
        .contains("\"allocated-blocks\" : 0");
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("after2.raw")).ok();
    qemu("compare", "-f", "raw", "-F", "raw", f("before.raw"), f("after2.raw"));
    // unsafe: the link only (mid.vhd's chain reads differently now)
    Cli.run("rebase", "-u", "-b", f("mid.vhd"), f("leaf.vhd")).ok();
    Cli.run("compare", f("leaf.vhd"), f("mid.vhd")).ok();
    // a loop and a size mismatch are refused
    assertThat(Cli.run("rebase", "-u", "-b", f("leaf.vhd"), f("mid.vhd")).exit()).isNotZero();
    Cli.run("create", "-f", "vpc", f("small.vhd"), "8M").ok();
    assertThat(Cli.run("rebase", "-b", f("small.vhd"), f("leaf.vhd")).exit()).isNotZero();
    Cli.run("compare", f("leaf.vhd"), f("mid.vhd")).ok();
  }
}
