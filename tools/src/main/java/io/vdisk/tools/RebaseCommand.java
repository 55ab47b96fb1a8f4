package io.vdisk.tools;

import io.vdisk.engine.Snapshots;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "rebase",
    description = {
      "Point the differencing image CHILD at a new parent -b BASE, as qemu-img rebase does.",
      "Safe by default: every sector where CHILD reads unlike BASE is first copied into CHILD,",
      "so its contents stay the same; -u (unsafe) only rewrites the link (vhd-util modify -p),",
      "for a base that holds the same data under another name. The data is flushed before the",
      "link changes: a crash leaves CHILD reading as before. BASE must have CHILD's size.",
      "  vdisk rebase -b new-base.vhd -F vpc child.vhd"
    })
final class RebaseCommand extends VdiskCommand {
  @Option(
      names = "-b",
      required = true,
      paramLabel = "BASE",
      description = "The new parent (a VHD or raw image).")
  Path base;

  @Option(names = "-F", paramLabel = "FMT", description = "The new parent's format: vpc or raw.")
  String baseFormat;

  @Option(names = "-u", description = "Unsafe: change the link only, copy nothing.")
  boolean unsafe;

  @Option(names = "-p", description = "Show progress, also where stderr is not a terminal.")
  boolean progress;

  @Option(names = "-f", paramLabel = "FMT", description = "CHILD's format: vpc (or vhd).")
  String format;

  @Parameters(index = "0", paramLabel = "CHILD", description = "The differencing image.")
  Path child;

  @Override
  public Integer call() throws Exception {
    if (format != null && !format.equals("vpc") && !format.equals("vhd")) {
      throw new ErrorHandler.UsageException("-f " + format + ": only a VHD (vpc) has a parent");
    }
    if (baseFormat != null && !baseFormat.matches("vpc|vhd|raw")) {
      throw new ErrorHandler.UsageException("-F " + baseFormat + ": use vpc or raw");
    }
    if (base.toString().isEmpty()) {
      throw new ErrorHandler.UsageException(
          "-b \"\" (no parent) is not a VHD rebase: 'vdisk convert -O vpc CHILD NEW' makes a"
              + " standalone copy");
    }
    long written;
    try (ProgressBar bar = new ProgressBar(err(), "rebase", progress, false)) {
      written = Snapshots.rebase(child, base, unsafe, bar);
    }
    out()
        .printf(
            "Rebased %s onto %s%s%n",
            child,
            base,
            unsafe ? " (unsafe: link only)" : ": " + Sizes.human(written) + " copied into it");
    return ExitCode.OK;
  }
}
