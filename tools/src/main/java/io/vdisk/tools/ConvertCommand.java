package io.vdisk.tools;

import io.vdisk.engine.Converter;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Progress;
import io.vdisk.engine.VirtualDisk;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "convert",
    description = {
      "Copy SRC (raw, or a VHD with its whole chain) into a new standalone DST.",
      "Zero and unallocated ranges are never written: raw output is a sparse file, VHD output",
      "allocates only non-zero blocks. DST appears only when complete."
    })
final class ConvertCommand extends VdiskCommand {
  @Option(
      names = "-f",
      paramLabel = "FMT",
      description = "Source format: raw or vhd (default: detected).")
  String sourceFormat;

  @Option(
      names = "-O",
      paramLabel = "FMT",
      description = "Output format: raw, vhd (dynamic, default) or vhd-fixed.")
  String outputFormat = "vhd";

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Parameters(index = "0", paramLabel = "SRC")
  Path source;

  @Parameters(
      index = "1",
      paramLabel = "DST",
      description = "The new file, or - for stdout (raw, or a dynamic VHD written in order).")
  Path destination;

  @Override
  public Integer call() throws Exception {
    Converter.Target target =
        switch (outputFormat) {
          case "raw" -> Converter.Target.RAW;
          case "vhd", "vpc", "vhd-dynamic" -> Converter.Target.VHD;
          case "vhd-fixed" -> Converter.Target.VHD_FIXED;
          default ->
              throw new ErrorHandler.UsageException(
                  "unknown output format '" + outputFormat + "': use raw, vhd or vhd-fixed");
        };
    Disks.Format in = parseFormat(sourceFormat);
    if (Stdio.isDash(destination.toString())) {
      if (target == Converter.Target.VHD_FIXED) {
        throw new ErrorHandler.UsageException("-O vhd-fixed cannot be streamed; use raw or vhd");
      }
      try (VirtualDisk src = Disks.open(source, in, share.readAccess())) {
        java.io.OutputStream out = Stdio.stdout();
        if (target == Converter.Target.RAW) {
          io.vdisk.engine.Streams.writeRaw(src, out, Progress.NONE);
        } else {
          io.vdisk.engine.Streams.writeVhd(src, out, Progress.NONE);
        }
        out.flush();
      }
      return ExitCode.OK;
    }
    try (VirtualDisk src = Disks.open(source, in, share.readAccess());
        ProgressBar bar = new ProgressBar(err(), "convert")) {
      Converter.Result r = Converter.convert(src, destination, target, bar);
      out()
          .printf(
              "Converted %s to %s: %s of data written, %s skipped as zeros%n",
              source, destination, Sizes.human(r.dataBytes()), Sizes.human(r.skippedBytes()));
    }
    return ExitCode.OK;
  }

  static Disks.Format parseFormat(String f) {
    if (f == null) {
      return null;
    }
    return switch (f) {
      case "raw" -> Disks.Format.RAW;
      case "vhd", "vpc" -> Disks.Format.VHD;
      default ->
          throw new ErrorHandler.UsageException("unknown format '" + f + "': use raw or vhd");
    };
  }
}
