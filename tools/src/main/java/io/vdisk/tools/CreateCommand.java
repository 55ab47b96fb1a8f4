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
      "  vdisk create [--type fixed|dynamic] --size SIZE FILE.vhd",
      "  vdisk create --parent PARENT.vhd CHILD.vhd"
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

  @Option(names = "--parent", description = "Create a differencing image over this parent.")
  Path parent;

  @Parameters(index = "0", paramLabel = "FILE")
  Path file;

  @Override
  public Integer call() throws Exception {
    if (parent != null) {
      if (size != null) {
        throw new ErrorHandler.UsageException(
            "--size and --parent exclude each other: a child has its parent's size");
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
