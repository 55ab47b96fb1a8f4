package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line: exit codes, one-line errors, JSON shapes. */
class CliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private String f(String name) {
    return dir.resolve(name).toString();
  }

  @Test
  void everyVerbAnswersHelpWithItsUsageAndExitZero() {
    for (String verb : Main.commandLine().getSubcommands().keySet()) {
      if (verb.equals("help")) {
        continue;
      }
      Cli r = Cli.run(verb, "--help");
      assertThat(r.exit()).as(verb + ": " + r.err()).isZero();
      assertThat(r.out()).as(verb).startsWith("Usage: vdisk " + verb).contains("--wait");
    }
  }

  /**
   * The top-level list shows each verb's first description line: a whole sentence, not one cut
   * mid-way; every positional parameter is described; an SR verb's help names the keys it takes.
   */
  @Test
  void everyVerbHasAOneSentenceSummaryDescribedParametersAndItsKeys() {
    java.util.List<String> bad = new java.util.ArrayList<>();
    for (var e : Main.commandLine().getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) {
        continue;
      }
      var spec = e.getValue().getCommandSpec();
      String first = spec.usageMessage().description()[0];
      if (!first.endsWith(".") || first.length() > 110) {
        bad.add(e.getKey() + ": summary '" + first + "'");
      }
      for (var p : spec.positionalParameters()) {
        if (String.join("", p.description()).isBlank()) {
          bad.add(e.getKey() + ": " + p.paramLabel() + " has no description");
        }
      }
      if (spec.userObject() instanceof XeCommand x) {
        String help = Cli.run(e.getKey(), "--help").out();
        for (String key : x.keys()) {
          if (!help.contains(key + "=")) {
            bad.add(e.getKey() + ": help does not name " + key + "=");
          }
        }
      }
    }
    assertThat(bad).isEmpty();
  }

  /** The real entry builds only the verb it runs; the answers are the same as with every verb. */
  @Test
  void aCommandLineWithOnlyItsVerbBehavesAsTheWholeOne() {
    assertThat(Main.commandLine(new String[] {"info", "x.vhd"}).getSubcommands().keySet())
        .containsExactly("info");
    assertThat(Main.commandLine(new String[] {"--sr", "create", "vm-list"}).getSubcommands())
        .containsOnlyKeys("vm-list");
    assertThat(Main.commandLine(new String[] {"help", "create"}).getSubcommands())
        .containsKeys("help", "create", "vm-list");
    assertThat(Main.commandLine(new String[] {"--version"}).getSubcommands()).isEmpty();
    assertThat(Main.commandLine(new String[] {"vm-lst"}).getSubcommands()).containsKey("vm-list");
    for (String[] args :
        new String[][] {
          {"create", "--bogus"}, {"--sr", f("sr"), "--minimal", "vm-list"}, {"info", f("none.vhd")}
        }) {
      java.io.StringWriter a = new java.io.StringWriter();
      java.io.StringWriter b = new java.io.StringWriter();
      CommandLine one = Main.commandLine(args);
      one.setErr(new java.io.PrintWriter(a, true)).setOut(new java.io.PrintWriter(a, true));
      CommandLine all = Main.commandLine();
      all.setErr(new java.io.PrintWriter(b, true)).setOut(new java.io.PrintWriter(b, true));
      assertThat(Main.execute(one, args)).isEqualTo(Main.execute(all, args));
      assertThat(a.toString()).isEqualTo(b.toString());
    }
  }

  @Test
  void createInfoAndJson() throws Exception {
    Cli.run("create", "--size", "64M", f("a.vhd")).ok();
    JsonNode n = JSON.readTree(Cli.run("info", "--json", f("a.vhd")).ok().out());
    assertThat(n.get("type").asText()).isEqualTo("dynamic");
    assertThat(n.get("virtual-size").asLong()).isEqualTo(64L << 20);
    assertThat(n.get("block-size").asInt()).isEqualTo(2 << 20);
    assertThat(n.get("allocated-blocks").asInt()).isZero();
    assertThat(n.get("creator").asText()).isEqualTo("tap");
    assertThat(n.get("hidden").asBoolean()).isFalse();
    assertThat(n.get("chain-depth").asInt()).isEqualTo(1);
    Cli.run("snapshot", f("a.vhd"), f("b.vhd")).ok();
    JsonNode c = JSON.readTree(Cli.run("info", "--json", f("b.vhd")).ok().out());
    assertThat(c.get("chain-depth").asInt()).isEqualTo(2);
    assertThat(c.get("chain").get(1).get("uuid").asText()).isEqualTo(n.get("uuid").asText());
    assertThat(c.get("parent-name").asText()).isEqualTo("a.vhd");
  }

  @Test
  void ioVerifiesPatternsAndFailsLoudly() {
    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 0xab 1M 64K", "-c", "flush").ok();
    assertThat(Cli.run("io", "-r", f("a.vhd"), "-c", "read -P 0xab 1M 64K").exit()).isZero();
    Cli r = Cli.run("io", "-r", f("a.vhd"), "-c", "read -P 0xab 1M 65K");
    assertThat(r.exit()).isEqualTo(ExitCode.FAILED);
    assertThat(r.err()).contains("pattern verification failed at offset 1114112");
    Cli w = Cli.run("io", "-r", f("a.vhd"), "-c", "write -P 1 0 512");
    assertThat(w.exit()).isEqualTo(ExitCode.IO);
    assertThat(w.err().trim().lines()).hasSize(1);
  }

  @Test
  void aWriteToAReadOnlyRawDiskIsRefusedLikeOneToAVhd() throws Exception {
    Files.write(dir.resolve("a.raw"), new byte[1 << 20]);
    byte[] before = Files.readAllBytes(dir.resolve("a.raw"));
    Cli raw = Cli.run("io", "-r", "-f", "raw", f("a.raw"), "-c", "write -P 1 0 512");
    assertThat(raw.exit()).isEqualTo(ExitCode.IO);
    assertThat(raw.err().trim()).isEqualTo("vdisk: " + f("a.raw") + ": opened read-only");
    assertThat(Files.readAllBytes(dir.resolve("a.raw"))).isEqualTo(before);
    Cli.run("create", "--size", "1M", f("a.vhd")).ok();
    Cli vhd = Cli.run("io", "-r", f("a.vhd"), "-c", "write -P 1 0 512");
    assertThat(vhd.exit()).isEqualTo(ExitCode.IO);
    assertThat(vhd.err().trim()).isEqualTo("vdisk: " + f("a.vhd") + ": opened read-only");
  }

  @Test
  void mapShowsDataExtentsAndLayers() throws Exception {
    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 1 2M 4K").ok();
    Cli.run("snapshot", f("a.vhd"), f("b.vhd")).ok();
    Cli.run("io", f("b.vhd"), "-c", "write -P 2 6M 4K").ok();
    JsonNode rows = JSON.readTree(Cli.run("map", "--json", f("b.vhd")).ok().out());
    long data = 0;
    for (JsonNode r : rows) {
      if (r.get("data").asBoolean()) {
        data += r.get("length").asLong();
        assertThat(r.get("depth").asInt()).isEqualTo(r.get("start").asLong() == 2L << 20 ? 1 : 0);
      }
    }
    assertThat(data).isEqualTo(4L << 20);
  }

  @Test
  void exitCodesAndOneLineErrors() throws Exception {
    Cli missing = Cli.run("info", f("nope.vhd"));
    assertThat(missing.exit()).isEqualTo(ExitCode.IO);
    assertThat(missing.err()).startsWith("vdisk: ").contains("nope.vhd");
    assertThat(missing.err().trim().lines()).hasSize(1);

    Cli big = Cli.run("create", "--size", "2041G", f("big.vhd"));
    assertThat(big.exit()).isEqualTo(ExitCode.UNSUPPORTED);
    assertThat(big.err()).contains("2040 GiB");
    assertThat(Files.exists(dir.resolve("big.vhd"))).isFalse();

    assertThat(Cli.run("create", "--size", "12Q", f("x.vhd")).exit()).isEqualTo(ExitCode.USAGE);
    assertThat(Cli.run("create", f("x.vhd")).exit()).isEqualTo(ExitCode.USAGE);

    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    byte[] bytes = Files.readAllBytes(dir.resolve("a.vhd"));
    bytes[40] ^= 1; // copy at offset 0
    bytes[bytes.length - 512 + 40] ^= 1; // trailing footer
    Files.write(dir.resolve("a.vhd"), bytes);
    Cli corrupt = Cli.run("check", f("a.vhd"));
    assertThat(corrupt.exit()).isEqualTo(ExitCode.CORRUPT);
    assertThat(corrupt.err()).contains("checksum expected").doesNotContain("\tat ");
    Cli trace = Cli.run("--stacktrace", "check", f("a.vhd"));
    assertThat(trace.err()).contains("\tat io.vdisk");
  }

  @Test
  void checkRepairsATornFooter() throws Exception {
    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 3 0 1M").ok();
    byte[] bytes = Files.readAllBytes(dir.resolve("a.vhd"));
    java.util.Arrays.fill(bytes, bytes.length - 512, bytes.length, (byte) 0xC7); // tapdisk's kill
    Files.write(dir.resolve("a.vhd"), bytes);
    assertThat(Cli.run("check", f("a.vhd")).exit()).isEqualTo(ExitCode.FAILED);
    assertThat(Files.readAllBytes(dir.resolve("a.vhd"))).isEqualTo(bytes);
    assertThat(Cli.run("check", "--repair", f("a.vhd")).exit()).isZero();
    assertThat(Cli.run("check", f("a.vhd")).exit()).isZero();
    Cli.run("io", "-r", f("a.vhd"), "-c", "read -P 3 0 1M").ok();
  }

  @Test
  void compareAndConvert() {
    Cli.run("create", "--size", "8M", f("a.vhd")).ok();
    Cli.run("io", f("a.vhd"), "-c", "write -P 9 3M 1K").ok();
    Cli.run("convert", "-O", "raw", f("a.vhd"), f("a.raw")).ok();
    Cli.run("convert", "-O", "vhd-fixed", f("a.raw"), f("fixed.vhd")).ok();
    Cli.run("convert", "-O", "vpc", f("fixed.vhd"), f("dyn.vhd")).ok();
    Cli.run("compare", f("a.vhd"), f("dyn.vhd")).ok();
    Cli.run("compare", f("a.raw"), f("fixed.vhd")).ok();
    Cli.run("io", f("dyn.vhd"), "-c", "write -P 8 7M 512").ok();
    Cli diff = Cli.run("compare", f("a.vhd"), f("dyn.vhd"));
    assertThat(diff.exit()).isEqualTo(ExitCode.FAILED);
    assertThat(diff.out()).contains("Content mismatch at offset 7340032");
    Cli exists = Cli.run("convert", "-O", "vpc", f("a.vhd"), f("dyn.vhd"));
    assertThat(exists.exit()).isEqualTo(ExitCode.IO);
    assertThat(exists.err()).contains("already exists");
  }

  @Test
  void demoRunsInADirectory() {
    Cli r = Cli.run("demo", f("demo"));
    assertThat(r.exit()).isZero();
    assertThat(r.out())
        .contains("chain-depth ( RO): 2")
        .contains("chain-depth ( RO): 3")
        .contains("chain-depth ( RO): 1")
        .contains("catalog and files agree");
  }

  @Test
  void sizesTakeSuffixesSumsAndDifferences() {
    assertThat(Sizes.parse("64M")).isEqualTo(64L << 20);
    assertThat(Sizes.parse("1000M+512")).isEqualTo(1048576512L);
    assertThat(Sizes.parse("2M-4K")).isEqualTo((2L << 20) - 4096);
    assertThat(Sizes.parse("1T")).isEqualTo(1L << 40);
    assertThat(Sizes.parse("0x200")).isEqualTo(512);
    // xe's units (Record_util.bytes_of_string): binary whatever the spelling, any case
    assertThat(Sizes.parse("10GiB")).isEqualTo(10L << 30);
    assertThat(Sizes.parse("10gb")).isEqualTo(10L << 30);
    assertThat(Sizes.parse("512KiB")).isEqualTo(512L << 10);
    assertThat(Sizes.parse("2TB")).isEqualTo(2L << 40);
    assertThat(Sizes.parse("4096bytes")).isEqualTo(4096);
    for (String bad : new String[] {"10 GiB", "10XB", "-1G", "G", "10GiBs", "1e3"}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> Sizes.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + bad + "'");
    }
    Cli xe = Cli.run("vdi-create", "--sr", f("sr"), "name-label=x", "virtual-size=10XB");
    assertThat(xe.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(xe.err().trim()).hasLineCount(1).contains("virtual-size=: bad size '10XB'");
  }
}
