package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vdisk.vhd.Footer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Images we write, qemu reads identically; images qemu writes, we read identically. */
class QemuInteropIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private long qemuVirtualSize(String file) throws Exception {
    JsonNode n =
        JSON.readTree(Proc.ok(dir, "qemu-img", "info", "-f", "vpc", "--output=json", file).out());
    return n.get("virtual-size").asLong();
  }

  /** Sizes that are and are not CHS-representable; qemu must see exactly SIZE. */
  @ParameterizedTest
  @CsvSource({
    "dynamic, 64M, 67108864",
    "dynamic, 1000M+512, 1048576512",
    "dynamic, 10M, 10485760",
    "fixed, 64M, 67108864",
    "fixed, 1000M+512, 1048576512"
  })
  void qemuReadsOurImagesExactly(String type, String size, long bytes) throws Exception {
    Cli.run("create", "--type", type, "--size", size, dir.resolve("a.vhd").toString()).ok();
    Cli.run(
            "io",
            dir.resolve("a.vhd").toString(),
            "-c",
            "write -P 0xab 1M 64K",
            "-c",
            "write -P 0x12 3M+512 1536",
            "-c",
            "write -P 0x77 " + (bytes - 4096) + " 4096")
        .ok();
    assertThat(qemuVirtualSize("a.vhd")).isEqualTo(bytes);
    Proc.ok(dir, "qemu-img", "convert", "-f", "vpc", "-O", "raw", "a.vhd", "q.raw");
    assertThat(Files.size(dir.resolve("q.raw"))).isEqualTo(bytes);
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "vpc", "q.raw", "a.vhd");
    Cli.run("compare", dir.resolve("a.vhd").toString(), dir.resolve("q.raw").toString()).ok();
    Proc.ok(
        dir,
        "qemu-io",
        "-f",
        "vpc",
        "-r",
        "-c",
        "read -P 0xab 1M 64K",
        "-c",
        "read -P 0x12 3146240 1536",
        "-c",
        "read -P 0 0 1M",
        "a.vhd");
    assertThat(Cli.run("check", dir.resolve("a.vhd").toString()).exit()).isZero();
  }

  @Test
  void ourRawConvertMatchesQemus() throws Exception {
    Cli.run("create", "--size", "64M", dir.resolve("a.vhd").toString()).ok();
    Cli.run("io", dir.resolve("a.vhd").toString(), "-c", "write -P 0x42 5M 3M").ok();
    Cli.run(
            "convert",
            "-O",
            "raw",
            dir.resolve("a.vhd").toString(),
            dir.resolve("ours.raw").toString())
        .ok();
    Proc.ok(dir, "qemu-img", "convert", "-f", "vpc", "-O", "raw", "a.vhd", "theirs.raw");
    assertThat(Files.readAllBytes(dir.resolve("ours.raw")))
        .isEqualTo(Files.readAllBytes(dir.resolve("theirs.raw")));
    // Sparse: only the 3 MiB of data (plus file-system rounding) is allocated.
    String du = Proc.ok(dir, "du", "-k", "ours.raw").out().split("\\s+", -1)[0];
    assertThat(Long.parseLong(du)).isLessThan(8 * 1024);
  }

  /** qemu dynamic (CHS-rounded and force_size) and fixed images, written by qemu-io. */
  @ParameterizedTest
  @ValueSource(
      strings = {"subformat=dynamic", "subformat=dynamic,force_size=on", "subformat=fixed"})
  void weReadQemuImagesExactly(String options) throws Exception {
    Proc.ok(dir, "qemu-img", "create", "-q", "-f", "vpc", "-o", options, "q.vhd", "100M");
    Proc.ok(
        dir,
        "qemu-io",
        "-f",
        "vpc",
        "-c",
        "write -P 0x5a 2M 100K",
        "-c",
        "write -P 0x33 7340544 4608",
        "q.vhd");
    long qemuSize = qemuVirtualSize("q.vhd");
    JsonNode info =
        JSON.readTree(Cli.run("info", "--json", dir.resolve("q.vhd").toString()).ok().out());
    assertThat(info.get("virtual-size").asLong()).isEqualTo(qemuSize);
    Proc.ok(dir, "qemu-img", "convert", "-f", "vpc", "-O", "raw", "q.vhd", "q.raw");
    Cli.run("compare", dir.resolve("q.vhd").toString(), dir.resolve("q.raw").toString()).ok();
    Cli.run(
            "io",
            "-r",
            dir.resolve("q.vhd").toString(),
            "-c",
            "read -P 0x5a 2M 100K",
            "-c",
            "read -P 0x33 7340544 4608")
        .ok();
    Cli.run("check", dir.resolve("q.vhd").toString()).ok();
    // Their footer, parsed and written back, is the same 512 bytes.
    byte[] file = Files.readAllBytes(dir.resolve("q.vhd"));
    ByteBuffer tail = ByteBuffer.wrap(Arrays.copyOfRange(file, file.length - 512, file.length));
    assertThat(Footer.parse(tail.duplicate()).toBuffer()).isEqualTo(tail);
  }

  /** qemu writing into our image (qemu ignores blktap's batmap); we still read it right. */
  @Test
  void qemuWritesIntoOurImage() throws Exception {
    Cli.run("create", "--size", "64M", dir.resolve("a.vhd").toString()).ok();
    Cli.run("io", dir.resolve("a.vhd").toString(), "-c", "write -P 1 0 2M").ok();
    Proc.ok(dir, "qemu-io", "-f", "vpc", "-c", "write -P 0x66 10M 1M", "a.vhd");
    Cli.run(
            "io",
            "-r",
            dir.resolve("a.vhd").toString(),
            "-c",
            "read -P 1 0 2M",
            "-c",
            "read -P 0x66 10M 1M",
            "-c",
            "read -P 0 11M 1M")
        .ok();
    Cli.run("io", dir.resolve("a.vhd").toString(), "-c", "write -P 2 20M 4K").ok();
    Proc.ok(
        dir,
        "qemu-io",
        "-f",
        "vpc",
        "-r",
        "-c",
        "read -P 0x66 10M 1M",
        "-c",
        "read -P 2 20M 4K",
        "a.vhd");
  }

  /** The image we convert to a standalone VHD from a chain, qemu reads as the chain's contents. */
  @Test
  void flattenedChainReadsTheSameInQemu() throws Exception {
    String base = dir.resolve("base.vhd").toString();
    String child = dir.resolve("child.vhd").toString();
    Cli.run("create", "--size", "32M", base).ok();
    Cli.run("io", base, "-c", "write -P 1 0 6M").ok();
    Cli.run("snapshot", base, child).ok();
    Cli.run("io", child, "-c", "write -P 2 1M+512 3000", "-c", "write -z 4M 1M").ok();
    Cli.run("convert", "-O", "vhd", child, dir.resolve("flat.vhd").toString()).ok();
    Cli.run("convert", "-O", "raw", child, dir.resolve("chain.raw").toString()).ok();
    Proc.ok(dir, "qemu-img", "compare", "-f", "raw", "-F", "vpc", "chain.raw", "flat.vhd");
    JsonNode info =
        JSON.readTree(Cli.run("info", "--json", dir.resolve("flat.vhd").toString()).ok().out());
    assertThat(info.get("chain-depth").asInt()).isEqualTo(1);
  }
}
