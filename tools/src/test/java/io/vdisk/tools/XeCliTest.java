package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The xe-style verbs through the command line: UUIDs on stdout, lists, JSON, refusals. */
class XeCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Cli xe(String verb, String... args) {
    String[] full = new String[args.length + 3];
    full[0] = verb;
    full[1] = "--sr";
    full[2] = dir.toString();
    System.arraycopy(args, 0, full, 3, args.length);
    return Cli.run(full);
  }

  private String created(String verb, String... args) {
    String out = xe(verb, args).ok().out().trim();
    assertThat(out).matches("[0-9a-f-]{36}");
    return out;
  }

  @Test
  void listsFilterOnAnyFieldAndMinimalPrintsTheFirstSelectedFieldAsXeDoes() throws Exception {
    xe("sr-create").ok();
    String web1 = created("vm-create", "name-label=web1");
    String odd = created("vm-create", "name-label=a,b\\c");
    created("vm-create", "name-label=db");
    String disk = created("vdi-create", "name-label=root", "virtual-size=8M");
    String snap = created("vdi-snapshot", "uuid=" + disk);
    // the idiom for "get a VM's UUID"
    assertThat(xe("vm-list", "name-label=web1", "params=uuid", "--minimal").ok().out().trim())
        .isEqualTo(web1);
    assertThat(xe("vm-list", "uuid=" + web1, "params=name-label", "--minimal").ok().out().trim())
        .isEqualTo("web1");
    assertThat(xe("vm-list", "uuid=" + odd, "params=name-label", "--minimal").ok().out().trim())
        .as("commas and backslashes in a value are escaped")
        .isEqualTo("a\\,b\\\\c");
    assertThat(xe("vm-list", "name-label=nobody", "--minimal").ok().out().trim()).isEmpty();
    assertThat(xe("vdi-list", "is-a-snapshot=false", "managed=true", "--minimal").ok().out().trim())
        .isEqualTo(disk);
    assertThat(xe("vdi-list", "is-a-snapshot=true", "params=uuid", "--minimal").ok().out().trim())
        .isEqualTo(snap);
    Cli records = xe("vdi-list", "name-label=root", "is-a-snapshot=false");
    assertThat(records.ok().out()).contains(disk).doesNotContain(snap);
    // --sr and the list options before the verb, as xe users (and the README) write them
    assertThat(
            Cli.run("--sr", dir.toString(), "--minimal", "vm-list", "name-label=web1")
                .ok()
                .out()
                .trim())
        .isEqualTo(web1);
    assertThat(Cli.run("--sr=" + dir, "vm-list", "name-label=web1", "--json").ok().out())
        .contains("\"uuid\" : \"" + web1 + "\"");
    Cli unknown = xe("vm-list", "colour=blue");
    assertThat(unknown.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err())
        .contains("unknown field 'colour' to filter on")
        .contains("name-label");
  }

  @Test
  void listsAnswerWhileAWriterHoldsTheSrAndWritersWaitOrRefuseNamingIt() throws Exception {
    xe("sr-create").ok();
    String vm = created("vm-create", "name-label=web1");
    try (var copying = io.vdisk.engine.sr.StorageRepository.open(dir, true, "vm-copy")) {
      Cli list = xe("vm-list", "--minimal");
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(list.out().trim()).isEqualTo(vm);
      Cli refused = xe("vm-create", "--wait", "1", "name-label=web2");
      assertThat(refused.exit()).isEqualTo(ExitCode.REFUSED);
      assertThat(refused.err())
          .contains("vdisk: waiting up to 1 s for SR " + dir.toAbsolutePath())
          .contains("is in use by host ")
          .contains(": vdisk vm-copy since")
          .contains("(waited 1 s); try again when it is done");
      assertThat(io.vdisk.engine.sr.Vms.list(copying, null)).hasSize(1);
    }
    assertThat(xe("vm-list", "--minimal").ok().out()).doesNotContain("web2");
  }

  @Test
  void aMistypedSrIsRefusedAndNothingIsCreated() throws Exception {
    Path typo = dir.resolve("vdisk-dta");
    for (String[] verb :
        new String[][] {
          {"vm-list"}, {"vdi-list"}, {"sr-scan"}, {"sr-gc"}, {"vm-create", "name-label=x"}
        }) {
      String[] full = new String[verb.length + 1];
      full[0] = verb[0];
      full[1] = "--sr=" + typo;
      System.arraycopy(verb, 1, full, 2, verb.length - 1);
      Cli r = Cli.run(full);
      assertThat(r.exit()).as(verb[0] + ": " + r.err()).isEqualTo(ExitCode.REFUSED);
      assertThat(r.err().trim()).as(verb[0]).startsWith("vdisk: no SR at " + typo).hasLineCount(1);
    }
    assertThat(java.nio.file.Files.exists(typo)).isFalse();
    // The default SR is never created by accident either, not even by a creating verb.
    Path cwd = Path.of("vdisk-data").toAbsolutePath();
    if (!java.nio.file.Files.exists(cwd)) {
      assertThat(Cli.run("vdi-create", "name-label=x", "virtual-size=1M").exit())
          .isEqualTo(ExitCode.REFUSED);
      assertThat(java.nio.file.Files.exists(cwd)).isFalse();
    }
    // Naming it makes it; sr-create adopts a directory.
    created("vdi-create", "name-label=x", "virtual-size=1M");
    String srUuid = Cli.run("sr-create", "--sr", typo.toString()).ok().out().trim();
    assertThat(srUuid).matches("[0-9a-f-]{36}");
    assertThat(Cli.run("sr-list", "--sr", typo.toString(), "--minimal").ok().out().trim())
        .isEqualTo(srUuid);
    Cli.run("vm-list", "--sr", typo.toString()).ok();
  }

  @Test
  void storyWithDepthsAndJson() throws Exception {
    String disk = created("vdi-create", "name-label=root", "virtual-size=16M");
    Cli.run("io", dir.resolve(disk + ".vhd").toString(), "-c", "write -P 0x11 0 1M").ok();
    String tmpl = created("vm-create", "name-label=tmpl", "vcpus=2", "memory=1G");
    created("vbd-create", "vm-uuid=" + tmpl, "vdi-uuid=" + disk, "device=0", "bootable=true");
    xe("vm-param-set", "uuid=tmpl", "is-a-template=true").ok();
    String vm1 = created("vm-clone", "vm=tmpl", "new-name-label=vm1");
    created("vm-clone", "vm=tmpl", "new-name-label=vm2");
    JsonNode disks = JSON.readTree(xe("vm-disk-list", "--json", "vm=vm1").ok().out());
    assertThat(disks.get(0).get("chain-depth").asInt()).isEqualTo(2);
    String d1 = disks.get(0).get("uuid").asText();
    Cli.run("io", dir.resolve(d1 + ".vhd").toString(), "-c", "write -P 0x22 4K 4K").ok();
    xe("vm-param-set", "uuid=" + vm1, "is-a-template=true").ok();
    String vm3 = created("vm-clone", "vm=vm1", "new-name-label=vm3");
    assertThat(
            JSON.readTree(xe("vm-disk-list", "--json", "vm=" + vm3).ok().out())
                .get(0)
                .get("chain-depth")
                .asInt())
        .isEqualTo(3);
    String copy = created("vm-copy", "vm=vm3", "new-name-label=flat");
    JsonNode flat = JSON.readTree(xe("vm-disk-list", "--json", "vm=" + copy).ok().out());
    assertThat(flat.get(0).get("chain-depth").asInt()).isEqualTo(1);
    String flatDisk = flat.get(0).get("uuid").asText();
    String vm3Disk =
        JSON.readTree(xe("vm-disk-list", "--json", "vm=vm3").ok().out())
            .get(0)
            .get("uuid")
            .asText();
    Cli.run(
            "compare",
            dir.resolve(flatDisk + ".vhd").toString(),
            dir.resolve(vm3Disk + ".vhd").toString())
        .ok();

    JsonNode templates = JSON.readTree(xe("template-list", "--json").ok().out());
    assertThat(templates).hasSize(2);
    JsonNode vdis = JSON.readTree(xe("vdi-list", "--json", "params=all").ok().out());
    assertThat(vdis.findValuesAsText("parent")).isNotEmpty();
    assertThat(xe("vm-list", "--minimal").ok().out().trim().split(",")).hasSize(3);
    assertThat(xe("sr-scan").ok().out()).contains("agree");

    xe("vm-uninstall", "vm=flat").ok();
    assertThat(xe("vm-list", "--minimal").ok().out().trim().split(",")).hasSize(2);
    String exported = dir.resolve("out.raw").toString();
    xe("vdi-export", "uuid=" + d1, "filename=" + exported, "format=raw").ok();
    Cli.run("io", "-r", exported, "-c", "read -P 0x11 0 4K", "-c", "read -P 0x22 4K 4K").ok();
  }

  @Test
  void exportListVerifyAndABadArchive() throws Exception {
    String disk = created("vdi-create", "name-label=root", "virtual-size=4M");
    Cli.run("io", dir.resolve(disk + ".vhd").toString(), "-c", "write -P 0x11 1M 4K").ok();
    String vm = created("vm-create", "name-label=web");
    created("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0", "bootable=true");
    String xva = dir.resolve("web.xva").toString();
    xe("vm-export", "vm=web", "filename=" + xva, "compress=zstd").ok();
    assertThat(Cli.run("xva-list", xva).ok().out())
        .contains("compression: zstd")
        .contains("VM web")
        .contains("4.0 MiB");
    assertThat(Cli.run("xva-verify", xva).ok().out())
        .contains("chunks verified")
        .contains("valid XVA");
    assertThat(xe("vm-export", "vm=web", "filename=" + xva).exit()).isEqualTo(ExitCode.IO);
    byte[] bytes = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(xva));
    java.nio.file.Files.write(
        java.nio.file.Path.of(xva), java.util.Arrays.copyOf(bytes, bytes.length / 2));
    Cli bad = xe("vm-import", "filename=" + xva);
    assertThat(bad.exit()).isEqualTo(ExitCode.CORRUPT);
    assertThat(bad.err().trim().lines()).hasSize(1);
    assertThat(xe("vm-list", "--minimal").ok().out().trim()).isEqualTo(vm);
  }

  @Test
  void refusalsHaveTheirExitCodes() {
    String disk = created("vdi-create", "name-label=a", "virtual-size=8M");
    String vm = created("vm-create", "name-label=twin");
    created("vm-create", "name-label=twin");
    created("vbd-create", "vm-uuid=" + vm, "vdi-uuid=" + disk, "device=0");
    Cli ambiguous = xe("vm-clone", "vm=twin", "new-name-label=x");
    assertThat(ambiguous.exit()).isEqualTo(ExitCode.REFUSED);
    assertThat(ambiguous.err()).contains("use a uuid");
    Cli inUse = xe("vdi-destroy", "uuid=" + disk);
    assertThat(inUse.exit()).isEqualTo(ExitCode.REFUSED);
    assertThat(inUse.err()).contains("in use by VM");
    assertThat(xe("vdi-destroy", "uuid=00000000-0000-0000-0000-000000000000").exit())
        .isEqualTo(ExitCode.REFUSED);
    Cli unknown = xe("vdi-create", "colour=blue");
    assertThat(unknown.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err()).contains("unknown argument 'colour'");
    assertThat(xe("vdi-create", "name-label=x").exit()).isEqualTo(ExitCode.USAGE);
    assertThat(xe("vdi-create", "name-label=x", "virtual-size=3000G").exit())
        .isEqualTo(ExitCode.UNSUPPORTED);
    xe("vm-param-set", "uuid=" + vm, "is-a-template=true").ok();
    Cli ro = xe("vdi-import", "uuid=" + disk, "filename=" + dir.resolve("nope.raw"));
    assertThat(ro.exit()).isEqualTo(ExitCode.REFUSED);
    assertThat(ro.err()).contains("read-only");
  }
}
