package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An SR on a read-only file system (a snapshot, a read-only export) is read by every read verb:
 * shared locks on existing lock files, SQLite opened read-only; changes are refused in one line.
 */
class ReadOnlySrIT {
  @TempDir Path dir;
  private Path mnt;

  @AfterEach
  void unmount() throws Exception {
    if (mnt != null) {
      Proc.run(dir, "umount", mnt.toString());
    }
  }

  private Proc vdisk(String... args) throws Exception {
    return Proc.run(dir, Cli.ownJvm(args));
  }

  @Test
  void readVerbsWorkOnAReadOnlySr() throws Exception {
    mnt = Files.createDirectories(dir.resolve("ro"));
    Proc.ok(dir, "mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt.toString());
    String sr = mnt.resolve("sr").toString();
    String vdi =
        Cli.run("vdi-create", "--sr", sr, "name-label=d", "virtual-size=8M").ok().out().trim();
    String vm = Cli.run("vm-create", "--sr", sr, "name-label=web").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + vdi, "device=0").ok();
    Proc.ok(dir, "mount", "-o", "remount,ro", mnt.toString());

    for (String[] verb :
        new String[][] {
          {"vm-list"},
          {"vdi-list"},
          {"vm-disk-list", "vm=web"},
          {"template-list"},
          {"vdi-export", "uuid=" + vdi, "filename=" + dir.resolve("d.raw")},
          {"vm-export", "vm=web", "filename=" + dir.resolve("web.xva")}
        }) {
      String[] args = new String[verb.length + 1];
      args[0] = verb[0];
      args[1] = "--sr=" + sr;
      System.arraycopy(verb, 1, args, 2, verb.length - 1);
      Proc p = vdisk(args);
      assertThat(p.exit()).as(String.join(" ", verb) + ": " + p.out()).isZero();
    }
    assertThat(vdisk("info", mnt.resolve("sr").resolve(vdi + ".vhd").toString()).exit()).isZero();
    Proc refused = vdisk("vdi-create", "--sr", sr, "name-label=x", "virtual-size=1M");
    assertThat(refused.exit()).as(refused.out()).isEqualTo(ExitCode.IO);
    assertThat(refused.out().trim().lines()).hasSize(1);
    assertThat(refused.out()).contains("Read-only file system");
  }
}
