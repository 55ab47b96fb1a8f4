package io.vdisk.tools;

import io.vdisk.engine.Snapshots;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.DiskType;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "create",
    description = {
      "Create a fixed or dynamic VHD of exactly SIZE bytes, or a differencing VHD over a parent.",
      "qemu-img's form works too: -f vpc (or raw), -o subformat=fixed|dynamic, -b BACKING -F vpc,",
      "SIZE after FILE.",
      "  vdisk create [--type fixed|dynamic] --size SIZE FILE.vhd",
      "  vdisk create --parent PARENT.vhd CHILD.vhd",
      "  vdisk create -f vpc -o subformat=fixed disk.vhd 10G",
      "  vdisk create -f vpc -b base.vhd -F vpc child.vhd"
    })
final class CreateCommand extends VdiskCommand {
  enum Type {
    fixed,
    dynamic
  }

  @Option(names = "--type", description = "fixed or dynamic (default: dynamic).")
  Type type = Type.dynamic;

  @Option(
      names = {"--size", "-s"},
      converter = Sizes.class,
      description = "Virtual size: bytes, or with K, M, G, T (powers of 1024).")
  Long size;

  @Option(
      names = {"--parent", "-b"},
      paramLabel = "PARENT",
      description = "Create a differencing image over this parent (qemu-img's backing file).")
  Path parent;

  @Option(
      names = "-F",
      paramLabel = "FMT",
      description = "The parent's format: vpc (or vhd), as qemu-img asks for it with -b.")
  String parentFormat;

  @Option(
      names = "-f",
      paramLabel = "FMT",
      description = "The image's format: vpc or vhd (the default), or raw (a sparse file).")
  String format;

  @Option(
      names = "-o",
      paramLabel = "OPTIONS",
      description = "subformat=dynamic|fixed (as --type), as qemu-img's vpc driver takes it.")
  String options;

  @Parameters(index = "0", paramLabel = "FILE", description = "The new image.")
  Path file;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "SIZE",
      converter = Sizes.class,
      description = "The virtual size, as qemu-img takes it after FILE (or --size).")
  Long positionalSize;

  @Override
  public Integer call() throws Exception {
    if (positionalSize != null) {
      if (size != null && !size.equals(positionalSize)) {
        throw new ErrorHandler.UsageException("two sizes: --size and SIZE");
      }
      size = positionalSize;
    }
    if (options != null) {
      for (String o : options.split(",", -1)) {
        switch (o) {
          case "subformat=fixed" -> type = Type.fixed;
          case "subformat=dynamic" -> type = Type.dynamic;
          default ->
              throw new ErrorHandler.UsageException(
                  "-o " + o + ": vdisk knows only subformat=dynamic|fixed");
        }
      }
    }
    String f = format == null ? "vpc" : format;
    if (!f.equals("vpc") && !f.equals("vhd") && !f.equals("raw")) {
      throw new ErrorHandler.UsageException("-f " + f + ": vdisk creates vpc (VHD) or raw images");
    }
    if (parentFormat != null && !parentFormat.equals("vpc") && !parentFormat.equals("vhd")) {
      throw new ErrorHandler.UsageException(
          "-F " + parentFormat + ": a VHD's parent is a VHD (vpc), or raw for vhd-util's -m");
    }
    if (f.equals("raw")) {
      if (parent != null || size == null) {
        throw new ErrorHandler.UsageException("a raw image takes a SIZE and no parent");
      }
      io.vdisk.engine.RawDisk.create(StorageProvider.FILES, file, size).close();
      out().printf("Created %s: raw, %s (%d bytes)%n", file, Sizes.human(size), size);
      return ExitCode.OK;
    }
    if (parent != null) {
      if (size != null) {
        long parentSize;
        try (io.vdisk.engine.VirtualDisk p =
            io.vdisk.engine.Disks.open(parent, null, StorageProvider.Access.PEEK)) {
          parentSize = p.size();
        }
        if (size != parentSize) {
          throw new ErrorHandler.UsageException(
              "a child has its parent's size (" + parentSize + " bytes), not " + size);
        }
      }
      Snapshots.createChild(parent, file);
      out().println("Created " + file + ": differencing over " + parent);
      return ExitCode.OK;
    }
    if (size == null) {
      throw new ErrorHandler.UsageException("--size is required (or --parent)");
    }
    if (type == Type.fixed) {
      VhdCreator.createFixed(StorageProvider.FILES, file, VhdCreator.Spec.fixed(size));
    } else {
      VhdCreator.createDynamic(StorageProvider.FILES, file, VhdCreator.Spec.dynamic(size));
    }
    out()
        .printf(
            "Created %s: %s, %s (%d bytes)%n",
            file,
            type == Type.fixed ? DiskType.FIXED.label() : DiskType.DYNAMIC.label(),
            Sizes.human(size),
            size);
    return ExitCode.OK;
  }
}
