package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image locks between real processes: vdisk commands, vdisk mounts and qemu-io / qemu-img contend
 * for one image with one clear winner; the loser gets one line naming the holder, exit 6, and
 * nothing changes.
 */
class LockIT {
  @TempDir Path dir;
  private Process qemu;
  private Path mounted;

  private Proc vdisk(String... args) throws Exception {
    return Proc.run(dir, Cli.ownJvm(args));
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (qemu != null) {
      qemu.destroyForcibly().waitFor();
    }
    if (mounted != null) {
      Proc.run(dir, "fusermount", "-u", "-z", mounted.toString());
    }
  }

  private static String sha(Path p) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  private List<String> files() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private Path mount(String image) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Proc p = vdisk("mount", image, mnt.toString());
    assertThat(p.exit()).as(p.out()).isZero();
    mounted = mnt;
    return mnt;
  }

  private static void assertRefused(Proc p, String holder) {
    assertThat(p.exit()).as(p.out()).isEqualTo(ExitCode.REFUSED);
    assertThat(p.out().trim().lines()).as(p.out()).hasSize(1);
    assertThat(p.out()).contains("in use").contains(holder);
  }

  @Test
  void aMountedImageRefusesEveryOtherWriterAndReader() throws Exception {
    String img = dir.resolve("a.vhd").toString();
    Cli.run("create", "--size", "64M", img).ok();
    Cli.run("io", img, "-c", "write -P 0x11 0 1M").ok();
    mount(img);
    Path other = Files.createDirectories(dir.resolve("mnt2"));
    String hash = sha(Path.of(img));
    List<String> before = files();

    assertRefused(vdisk("io", img, "-c", "write -P 0x22 0 512"), "vdisk mount");
    assertRefused(vdisk("info", img), "vdisk mount");
    assertRefused(vdisk("snapshot", "--in-place", img), "vdisk mount");
    assertRefused(vdisk("resize", img, "128M"), "vdisk mount");
    assertRefused(vdisk("mount", img, other.toString()), "vdisk mount");
    Proc again = vdisk("mount", img, mounted.toString());
    assertThat(again.exit()).isEqualTo(ExitCode.IO);
    assertThat(again.out()).contains("already a mount point");
    // -U reads without the lock, as qemu-img -U does.
    assertThat(vdisk("info", "-U", img).exit()).isZero();
    assertThat(vdisk("io", "-r", "-U", img, "-c", "read -P 0x11 0 512").exit()).isZero();
    // qemu sees vdisk's writer lock.
    Proc q = Proc.run(dir, "qemu-io", "-f", "vpc", "-r", "-c", "read 0 512", img);
    assertThat(q.exit()).as(q.out()).isNotZero();
    assertThat(q.out()).contains("lock");

    assertThat(sha(Path.of(img))).as("refused commands change nothing").isEqualTo(hash);
    assertThat(files()).isEqualTo(before);
  }

  @Test
  void qemuIoHoldingTheWriteLockKeepsVdiskOut() throws Exception {
    String img = dir.resolve("q.vhd").toString();
    Cli.run("create", "--size", "16M", img).ok();
    qemu =
        new ProcessBuilder("qemu-io", "-f", "vpc", "-c", "sleep 20000", img)
            .redirectErrorStream(true)
            .start();
    // Wait until qemu holds its lock bytes (qemu-img info then fails).
    for (int i = 0; i < 100; i++) {
      if (Proc.run(dir, "qemu-img", "info", "-f", "vpc", img).exit() != 0) {
        break;
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    String hash = sha(Path.of(img));
    assertRefused(vdisk("io", "-r", img, "-c", "read 0 512"), "qemu-io");
    assertRefused(vdisk("io", img, "-c", "write 0 512"), "qemu-io");
    assertThat(vdisk("info", "-U", img).exit()).isZero();
    assertThat(sha(Path.of(img))).isEqualTo(hash);
    qemu.destroy();
    qemu.waitFor();
    qemu = null;
    assertThat(vdisk("io", img, "-c", "write -P 0x33 0 512").exit()).isZero();
  }

  @Test
  void twoReadersShareAndAWriterWaitsForNeither() throws Exception {
    String img = dir.resolve("r.vhd").toString();
    Cli.run("create", "--size", "16M", img).ok();
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Proc p = vdisk("mount", "--read-only", img, mnt.toString());
    assertThat(p.exit()).as(p.out()).isZero();
    mounted = mnt;
    assertThat(vdisk("info", img).exit()).as("a second reader").isZero();
    assertThat(Proc.run(dir, "qemu-img", "info", "-f", "vpc", img).exit())
        .as("qemu reads too")
        .isZero();
    assertRefused(vdisk("io", img, "-c", "write 0 512"), "vdisk mount");
  }
}
