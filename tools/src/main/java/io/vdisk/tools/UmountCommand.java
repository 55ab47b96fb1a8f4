package io.vdisk.tools;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "umount",
    description =
        "Unmount a vdisk mount (fusermount -u); the daemon flushes and closes its images.")
final class UmountCommand extends VdiskCommand {
  @Parameters(index = "0", paramLabel = "MOUNTPOINT", description = "Where vdisk mount mounted it.")
  Path mountpoint;

  @Override
  public Integer call() throws Exception {
    Path abs = mountpoint.toAbsolutePath().normalize();
    if (!MountCommand.isMounted(abs)) {
      throw new java.nio.file.NoSuchFileException(abs.toString(), null, "is not mounted");
    }
    Process p =
        new ProcessBuilder("fusermount", "-u", abs.toString()).redirectErrorStream(true).start();
    String outText =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
            .trim();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new java.io.IOException(abs + ": fusermount -u failed: " + outText);
    }
    return ExitCode.OK;
  }
}
