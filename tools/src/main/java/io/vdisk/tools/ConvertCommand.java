package io.vdisk.tools;

import io.vdisk.engine.Converter;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Progress;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "convert",
    description = {
      "Copy SRC (raw, or a VHD with its whole chain) into a standalone DST, as qemu-img convert.",
      "The output is raw unless -O says otherwise (qemu-img's default): -O vpc (or vhd) for a",
      "dynamic VHD (-o subformat=fixed for a fixed one), -O qcow2 for KVM and Proxmox. A DST",
      "whose extension names another format (.vhd, .vpc, .qcow2, .raw, .img) is refused, so",
      "'convert disk.vhd disk.qcow2' never writes raw bytes under a .qcow2 name. Zero and",
      "unallocated ranges are not written (raw output is sparse) unless -S 0. DST appears only",
      "when complete; with -n it is an existing image written in place.",
      "  vdisk convert -p -O qcow2 disk.vhd disk.qcow2",
      "  vdisk convert -O vpc -o subformat=fixed disk.raw disk.vhd"
    })
final class ConvertCommand extends VdiskCommand {
  @Option(
      names = "-f",
      paramLabel = "FMT",
      description = "Source format: raw, vpc or vhd (default: detected).")
  String sourceFormat;

  @Option(
      names = "-O",
      paramLabel = "FMT",
      description = "Output format: raw (default), vpc or vhd (dynamic), vhd-fixed, qcow2.")
  String outputFormat;

  @Option(
      names = "-o",
      paramLabel = "OPTIONS",
      description = "Output options, comma-separated: subformat=dynamic|fixed (vpc).")
  String outputOptions;

  @Option(names = "-p", description = "Show progress, also where stderr is not a terminal.")
  boolean progress;

  @Option(
      names = "-n",
      description =
          "Write into DST as it is (an existing raw file or VHD at least as large as SRC):"
              + " SRC's zeros are zeroed in it.")
  boolean noCreate;

  @Option(
      names = "-S",
      paramLabel = "SIZE",
      description =
          "Zero runs to leave unwritten (qemu-img's sparse size). 0 writes every byte: a fully"
              + " allocated DST. Other values keep the default: 2 MiB pieces of zeros skipped.")
  String sparseSize;

  @Option(
      names = "-W",
      description =
          "Allow out-of-order writes (accepted for qemu-img's command lines; vdisk reads ahead"
              + " on one thread and writes on another either way).")
  boolean outOfOrder;

  @Option(
      names = "-m",
      paramLabel = "N",
      description = "Parallel coroutines in qemu-img (1-16): accepted, checked and not needed.")
  Integer coroutines;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Parameters(index = "0", paramLabel = "SRC", description = "The source image or chain leaf.")
  Path source;

  @Parameters(
      index = "1",
      paramLabel = "DST",
      description = "The new file, or - for stdout (raw, or a dynamic VHD written in order).")
  Path destination;

  @Override
  public Integer call() throws Exception {
    Converter.Target target = target();
    checkExtension(target);
    if (coroutines != null && (coroutines < 1 || coroutines > 16)) {
      throw new ErrorHandler.UsageException("-m must be 1 to 16, not " + coroutines);
    }
    boolean sparse = true;
    if (sparseSize != null) {
      try {
        sparse = Sizes.parse(sparseSize) != 0;
      } catch (IllegalArgumentException e) {
        throw new ErrorHandler.UsageException("-S: " + e.getMessage());
      }
    }
    Disks.Format in = parseFormat(sourceFormat);
    if (Stdio.isDash(destination.toString())) {
      if (target != Converter.Target.RAW && target != Converter.Target.VHD) {
        throw new ErrorHandler.UsageException("only raw or vpc (dynamic) can be streamed to -");
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
        ProgressBar bar = new ProgressBar(err(), "convert", progress, false)) {
      Converter.Result r;
      if (noCreate) {
        r = into(src, target, sparse, bar);
      } else {
        r =
            Converter.convert(
                StorageProvider.FILES,
                src,
                destination,
                target,
                bar,
                java.util.UUID.randomUUID(),
                new Converter.Options(sparse, false));
      }
      out()
          .printf(
              "Converted %s to %s: %s of data written, %s skipped as zeros%n",
              source, destination, Sizes.human(r.dataBytes()), Sizes.human(r.skippedBytes()));
    }
    return ExitCode.OK;
  }

  /** -n: the existing DST, of the format -O names, written in place. */
  private Converter.Result into(
      VirtualDisk src, Converter.Target target, boolean sparse, Progress p)
      throws java.io.IOException {
    Disks.Format f =
        switch (target) {
          case RAW -> Disks.Format.RAW;
          case VHD, VHD_FIXED -> Disks.Format.VHD;
          default -> throw new ErrorHandler.UsageException("-n writes into raw or vpc images only");
        };
    if (Disks.sniff(destination) != f) {
      throw new ErrorHandler.UsageException(
          destination + " is not a " + (f == Disks.Format.RAW ? "raw" : "vpc") + " image (-O)");
    }
    try (VirtualDisk out = Disks.open(destination, f, StorageProvider.Access.WRITE)) {
      if (out.size() < src.size()) {
        throw new ErrorHandler.UsageException(
            destination
                + " holds "
                + out.size()
                + " bytes, fewer than "
                + source
                + "'s "
                + src.size());
      }
      Converter.Result r = Converter.copy(src, out, p, new Converter.Options(sparse, true));
      out.flush();
      return r;
    }
  }

  private Converter.Target target() {
    String subformat = null;
    if (outputOptions != null) {
      for (String o : outputOptions.split(",", -1)) {
        if (o.startsWith("subformat=")) {
          subformat = o.substring("subformat=".length());
          if (!subformat.equals("dynamic") && !subformat.equals("fixed")) {
            throw new ErrorHandler.UsageException(
                "-o subformat=" + subformat + ": use dynamic or fixed");
          }
        } else {
          throw new ErrorHandler.UsageException(
              "-o " + o + ": vdisk knows only subformat=dynamic|fixed (for -O vpc)");
        }
      }
    }
    String f = outputFormat == null ? "raw" : outputFormat.toLowerCase(Locale.ROOT);
    Converter.Target t =
        switch (f) {
          case "raw" -> Converter.Target.RAW;
          case "vhd", "vpc", "vhd-dynamic" ->
              "fixed".equals(subformat) ? Converter.Target.VHD_FIXED : Converter.Target.VHD;
          case "vhd-fixed" -> Converter.Target.VHD_FIXED;
          case "qcow2" -> Converter.Target.QCOW2;
          default ->
              throw new ErrorHandler.UsageException(
                  "unknown output format '" + outputFormat + "': use raw, vpc, vhd-fixed or qcow2");
        };
    if (subformat != null && t != Converter.Target.VHD && t != Converter.Target.VHD_FIXED) {
      throw new ErrorHandler.UsageException("-o subformat= is an option of -O vpc");
    }
    return t;
  }

  /** Refuses a DST whose extension names a format other than the one -O gives. */
  private void checkExtension(Converter.Target t) {
    String name = destination.getFileName() == null ? "" : destination.getFileName().toString();
    int dot = name.lastIndexOf('.');
    if (dot < 0) {
      return;
    }
    String ext = name.substring(dot + 1).toLowerCase(Locale.ROOT);
    String says =
        switch (ext) {
          case "vhd", "vpc" -> "vpc";
          case "qcow2", "qcow" -> "qcow2";
          case "raw", "img", "bin" -> "raw";
          default -> null;
        };
    String is =
        switch (t) {
          case RAW -> "raw";
          case VHD, VHD_FIXED -> "vpc";
          case QCOW2 -> "qcow2";
        };
    if (says != null && !says.equals(is)) {
      throw new ErrorHandler.UsageException(
          destination
              + " is named as a "
              + says
              + " image but the output format is "
              + is
              + (outputFormat == null ? " (qemu-img's default)" : "")
              + "; give -O "
              + says
              + " or another name");
    }
  }

  static Disks.Format parseFormat(String f) {
    if (f == null) {
      return null;
    }
    return switch (f) {
      case "raw" -> Disks.Format.RAW;
      case "vhd", "vpc" -> Disks.Format.VHD;
      default ->
          throw new ErrorHandler.UsageException("unknown format '" + f + "': use raw or vpc");
    };
  }
}
