package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** snapshot --in-place, coalesce and resize through the command line. */
class ChainCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private String f(String name) {
    return dir.resolve(name).toString();
  }

  @Test
  void inPlaceSnapshotThenCoalesceBack() throws Exception {
    Cli.run("create", "--size", "16M", f("disk.vhd")).ok();
    Cli.run("io", f("disk.vhd"), "-c", "write -P 1 0 3M").ok();
    Cli snap = Cli.run("snapshot", "--in-place", f("disk.vhd")).ok();
    assertThat(snap.out()).contains("disk-base-");
    JsonNode info = JSON.readTree(Cli.run("info", "--json", f("disk.vhd")).ok().out());
    assertThat(info.get("chain-depth").asInt()).isEqualTo(2);
    assertThat(info.get("chain").get(1).get("hidden").asBoolean()).isTrue();
    Cli.run("io", f("disk.vhd"), "-c", "write -P 2 1M 4K").ok();
    Cli.run(
            "io",
            "-r",
            f("disk.vhd"),
            "-c",
            "read -P 1 0 1M",
            "-c",
            "read -P 2 1M 4K",
            "-c",
            "read -P 1 1M+4K 2M-4K")
        .ok();

    String base = info.get("chain").get(1).get("file").asText();
    Cli.run("convert", "-O", "raw", f("disk.vhd"), f("before.raw")).ok();
    Cli.run("coalesce", f("disk.vhd")).ok();
    assertThat(Files.exists(dir.resolve("disk.vhd"))).isFalse();
    Cli.run("compare", base, f("before.raw")).ok();
    JsonNode after = JSON.readTree(Cli.run("info", "--json", base).ok().out());
    assertThat(after.get("hidden").asBoolean())
        .as("a coalesced leaf's parent is visible again")
        .isFalse();
    Cli.run("check", base).ok();
  }

  @Test
  void coalesceRelinksGrandchildrenAndRefusesSharedBases() throws Exception {
    Cli.run("create", "--size", "16M", f("base.vhd")).ok();
    Cli.run("io", f("base.vhd"), "-c", "write -P 1 0 4M").ok();
    Cli.run("snapshot", f("base.vhd"), f("mid.vhd")).ok();
    Cli.run("io", f("mid.vhd"), "-c", "write -P 2 1M 1M").ok();
    Cli.run("snapshot", f("mid.vhd"), f("leaf.vhd")).ok();
    Cli.run("io", f("leaf.vhd"), "-c", "write -P 3 1M+512 512").ok();
    Cli.run("convert", "-O", "raw", f("leaf.vhd"), f("leaf.raw")).ok();

    Cli.run("snapshot", f("base.vhd"), f("sibling.vhd")).ok();
    Cli refused = Cli.run("coalesce", f("mid.vhd"));
    assertThat(refused.exit()).isEqualTo(ExitCode.REFUSED);
    assertThat(refused.err()).contains("sibling.vhd").contains("never written");
    Files.delete(dir.resolve("sibling.vhd"));

    Cli.run("coalesce", f("mid.vhd")).ok();
    JsonNode info = JSON.readTree(Cli.run("info", "--json", f("leaf.vhd")).ok().out());
    assertThat(info.get("chain-depth").asInt()).isEqualTo(2);
    assertThat(info.get("parent-name").asText()).isEqualTo("base.vhd");
    Cli.run("compare", f("leaf.vhd"), f("leaf.raw")).ok();
    Cli.run("check", f("leaf.vhd")).ok();
  }

  @Test
  void resizeGrowsAndShrinksOnlyWhenAsked() throws Exception {
    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 7 1M 4K").ok();
    Cli.run("resize", f("a.vhd"), "100M").ok();
    JsonNode info = JSON.readTree(Cli.run("info", "--json", f("a.vhd")).ok().out());
    assertThat(info.get("virtual-size").asLong()).isEqualTo(100L << 20);
    Cli.run("io", "-r", f("a.vhd"), "-c", "read -P 7 1M 4K", "-c", "read -P 0 8M 92M").ok();
    Cli.run("check", f("a.vhd")).ok();
    assertThat(Cli.run("resize", f("a.vhd"), "4M").exit()).isEqualTo(ExitCode.UNSUPPORTED);
    Cli drop = Cli.run("resize", "--shrink", f("a.vhd"), "1M");
    assertThat(drop.exit()).isEqualTo(ExitCode.UNSUPPORTED);
    assertThat(drop.err()).contains("would drop allocated non-zero data");
    Cli.run("resize", "--shrink", f("a.vhd"), "2M").ok();
    Cli.run("resize", f("a.vhd"), "8M").ok();
    Cli.run("io", "-r", f("a.vhd"), "-c", "read -P 7 1M 4K", "-c", "read -P 0 2M 6M").ok();
  }
}
