package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everyday xe lines, as an operator's script types them, replayed against an SR; each output is
 * checked against the shape xe gives it: a UUID alone for a verb that makes something, records as
 * xe's {@code Cli_printer} prints them (uuid first, {@code name ( RO): value} with the colons in
 * one column, the markers {@code ( RO)}, {@code ( RW)}, {@code (SRO)}, {@code (MRO)}, a blank line
 * after each record), {@code --minimal} as one comma-separated line, a param-get value alone.
 */
class XeReplayTest {
  private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
  private static final Pattern FIELD =
      Pattern.compile("^( *)([A-Za-z][A-Za-z0-9-]*) \\(( RO| RW|SRO|SRW|MRO|MRW)\\)( *): (.*)$");
  private static final Pattern VAR = Pattern.compile("\\$([a-z0-9]+)");

  @TempDir Path dir;
  private final Map<String, String> vars = new HashMap<>();

  /** Runs one xe line against the SR ({@code $name} replaced by what an earlier line kept). */
  private Cli xe(String line) {
    Matcher m = VAR.matcher(line);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(sb, Matcher.quoteReplacement(vars.get(m.group(1))));
    }
    m.appendTail(sb);
    List<String> args = new ArrayList<>(List.of(sb.toString().split(" ")));
    args.add(1, "--sr=" + dir.resolve("sr"));
    return Cli.run(args.toArray(String[]::new)).ok();
  }

  /** A line whose output is one UUID, kept as {@code $name}. */
  private String keep(String name, String line) {
    String out = xe(line).out();
    assertThat(out).as(line).matches(UUID + "\n");
    vars.put(name, out.trim());
    return out.trim();
  }

  /** Checks xe's record shape and returns the records, field name to value. */
  static List<Map<String, String>> records(String out) {
    List<Map<String, String>> records = new ArrayList<>();
    assertThat(out).as("records end with a blank line").endsWith("\n\n");
    for (String block : out.substring(0, out.length() - 2).split("\n\n", -1)) {
      Map<String, String> r = new java.util.LinkedHashMap<>();
      int colon = -1;
      String[] lines = block.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        Matcher f = FIELD.matcher(lines[i]);
        assertThat(f.matches()).as("a field line: '" + lines[i] + "'").isTrue();
        if (i == 0) {
          assertThat(f.group(1)).as("the first field starts the line").isEmpty();
          assertThat(f.group(2)).as("uuid first").isEqualTo("uuid");
          assertThat(f.group(5)).matches(UUID);
        } else {
          assertThat(f.group(4)).as("later names are right-aligned").isEmpty();
        }
        int at = lines[i].indexOf(": ");
        assertThat(colon < 0 || at == colon).as("colons in one column: " + block).isTrue();
        colon = at;
        r.put(f.group(2), f.group(5));
      }
      records.add(r);
    }
    return records;
  }

  @Test
  void everydayXeLinesGiveXesShapes() throws Exception {
    Files.createDirectories(dir.resolve("sr"));
    String sr = keep("sr", "sr-create name-label=Local-storage");
    assertThat(xe("sr-list params=uuid --minimal").out().trim()).isEqualTo(sr);
    assertThat(records(xe("sr-list").out()).get(0))
        .containsEntry("uuid", sr)
        .containsEntry("name-label", "Local-storage")
        .containsKeys("name-description", "host", "type", "content-type");
    assertThat(xe("sr-param-get uuid=$sr param-name=name-label").out())
        .isEqualTo("Local-storage\n");
    xe("sr-param-set uuid=$sr name-description=lab");
    assertThat(records(xe("sr-param-list uuid=$sr").out()).get(0))
        .containsEntry("name-description", "lab")
        .containsKeys("physical-size", "physical-utilisation", "virtual-allocation");
    xe("sr-scan uuid=$sr");

    keep("root", "vdi-create sr-uuid=$sr name-label=debian-root virtual-size=64MiB type=user");
    keep("tmpl", "vm-create name-label=debian-11 vcpus=2 memory=1GiB");
    keep("vbd", "vbd-create vm-uuid=$tmpl vdi-uuid=$root device=0 bootable=true mode=RW");
    xe("vm-param-set uuid=$tmpl is-a-template=true");
    assertThat(xe("template-list name-label=debian-11 params=uuid --minimal").out().trim())
        .isEqualTo(vars.get("tmpl"));
    String web1 = keep("web1", "vm-install template=debian-11 new-name-label=web1 sr-uuid=$sr");
    assertThat(xe("vm-list name-label=web1 params=uuid --minimal").out().trim()).isEqualTo(web1);
    Map<String, String> vm = records(xe("vm-list uuid=$web1").out()).get(0);
    assertThat(vm.keySet()).containsExactly("uuid", "name-label", "power-state");
    assertThat(vm).containsEntry("power-state", "halted");
    assertThat(xe("vm-param-get uuid=$web1 param-name=power-state").out()).isEqualTo("halted\n");
    assertThat(xe("vm-list power-state=halted params=name-label --minimal").out().trim())
        .isEqualTo("web1");

    String disk = xe("vbd-list vm-uuid=$web1 params=vdi-uuid --minimal").out().trim(); // the idiom
    vars.put("disk", disk);
    Map<String, String> vdi = records(xe("vdi-param-list uuid=$disk").out()).get(0);
    assertThat(vdi)
        .containsEntry("sr-uuid", sr)
        .containsEntry("is-a-snapshot", "false")
        .containsEntry("location", disk)
        .containsEntry("read-only", "false")
        .containsKeys("snapshot-of", "snapshots", "snapshot-time", "type", "vbd-uuids");
    assertThat(xe("vdi-param-list uuid=$disk").out())
        .contains("read-only ( RO): false", "vbd-uuids (SRO): ", "sm-config (MRO): ");
    String vbd = xe("vbd-list vm-uuid=$web1 params=uuid --minimal").out().trim();
    assertThat(vdi.get("vbd-uuids")).isEqualTo(vbd);
    assertThat(records(xe("vbd-param-list uuid=" + vbd).out()).get(0))
        .containsEntry("vm-name-label", "web1")
        .containsEntry("userdevice", "0")
        .containsEntry("bootable", "true");

    Cli.run("io", dir.resolve("sr").resolve(disk + ".vhd").toString(), "-c", "write -P 9 0 1M")
        .ok();
    String snap = keep("snap", "vm-snapshot vm=web1 new-name-label=before-upgrade");
    assertThat(xe("template-list params=uuid --minimal").out().trim())
        .as("a snapshot is not a template in xe's list")
        .isEqualTo(vars.get("tmpl"));
    Map<String, String> s = records(xe("snapshot-list").out()).get(0);
    assertThat(s).containsEntry("uuid", snap).containsEntry("snapshot-of", web1);
    assertThat(s.get("snapshot-time")).matches("\\d{8}T\\d\\d:\\d\\d:\\d\\dZ");
    assertThat(xe("snapshot-list snapshot-of=$web1 --minimal").out().trim()).isEqualTo(snap);
    assertThat(xe("vm-param-get uuid=$web1 param-name=snapshots").out().trim()).isEqualTo(snap);
    String parent = xe("vdi-param-get uuid=$disk param-name=sm-config param-key=vhd-parent").out();
    assertThat(parent).matches(UUID + "\n");

    Cli.run("io", dir.resolve("sr").resolve(disk + ".vhd").toString(), "-c", "write -P 7 0 1M")
        .ok();
    xe("snapshot-revert snapshot-uuid=$snap");
    String reverted = xe("vbd-list vm-uuid=$web1 params=vdi-uuid --minimal").out().trim();
    assertThat(reverted).isNotEqualTo(disk);
    Cli.run("io", dir.resolve("sr").resolve(reverted + ".vhd").toString(), "-c", "read -P 9 0 1M")
        .ok();
    assertThat(xe("vdi-list uuid=$disk --minimal").out().trim())
        .as("the disk it replaced is gone")
        .isEmpty();

    Path export = dir.resolve("web1.vhd");
    Cli exported =
        xe("vdi-export uuid=" + reverted + " filename=" + export + " format=vhd progress=true");
    assertThat(Files.size(export)).isGreaterThan(1 << 20);
    assertThat(exported.err())
        .as("progress=true reports even where stderr is no terminal, as plain lines")
        .contains("vdi-export: 100% 64.0 MiB/64.0 MiB")
        .doesNotContain("\r", "\033");
    assertThat(exported.out()).isEmpty();

    xe("snapshot-uninstall snapshot-uuid=$snap force=true");
    assertThat(xe("snapshot-list --minimal").out().trim()).isEmpty();
    xe("vbd-destroy uuid=" + xe("vbd-list vm-uuid=$web1 --minimal").out().trim());
    assertThat(xe("vbd-list vm-uuid=$web1 --minimal").out().trim()).isEmpty();
    vars.put("reverted", reverted);
    xe("vdi-forget uuid=$reverted");
    assertThat(xe("vdi-list uuid=$reverted --minimal").out().trim()).isEmpty();
    assertThat(xe("vdi-introduce uuid=$reverted name-label=back").out().trim()).isEqualTo(reverted);
    assertThat(xe("vdi-list name-label=back --minimal").out().trim()).isEqualTo(reverted);
  }

  @Test
  void aVerbGivenAnotherSrsUuidIsRefusedAndChangesNothing() throws Exception {
    Files.createDirectories(dir.resolve("sr"));
    keep("sr", "sr-create");
    String other = "00000000-0000-4000-8000-000000000000";
    for (String line :
        List.of(
            "vdi-create sr-uuid=" + other + " name-label=x virtual-size=1M",
            "sr-scan uuid=" + other,
            "sr-param-set uuid=" + other + " name-label=y",
            "vm-create sr-uuid=" + other + " name-label=z")) {
      List<String> args = new ArrayList<>(List.of(line.split(" ")));
      args.add(1, "--sr=" + dir.resolve("sr"));
      Cli r = Cli.run(args.toArray(String[]::new));
      assertThat(r.exit()).as(line).isEqualTo(ExitCode.REFUSED);
      assertThat(r.err().trim()).as(line).contains("has uuid " + vars.get("sr")).hasLineCount(1);
    }
    assertThat(xe("vdi-list --minimal").out().trim()).isEmpty();
    assertThat(xe("vm-list --minimal").out().trim()).isEmpty();
    // a creating verb given sr-uuid= of a directory that is no SR makes none
    Path none = dir.resolve("none");
    Cli r =
        Cli.run(
            "vdi-create",
            "--sr",
            none.toString(),
            "sr-uuid=" + other,
            "name-label=x",
            "virtual-size=1M");
    assertThat(r.exit()).isEqualTo(ExitCode.REFUSED);
    assertThat(Files.exists(none)).isFalse();
  }
}
