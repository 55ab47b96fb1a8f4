package io.vdisk.tools;

import io.vdisk.engine.Snapshots;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "snapshot",
    description = {
      "Create CHILD as an empty differencing image over PARENT, or snapshot FILE in place.",
      "Create CHILD as an empty differencing image over PARENT (same as create --parent), or with --in-place snapshot FILE keeping its name, as XenServer does: its bytes become a hidden read-only base FILE-base-XXXXXXXX.vhd and a new empty leaf takes the name."
    })
final class SnapshotCommand extends VdiskCommand {
  @Option(names = "--in-place", description = "Snapshot FILE in place (one argument).")
  boolean inPlace;

  @Parameters(
      paramLabel = "PARENT CHILD | FILE",
      arity = "1..2",
      description = "The parent and the new child, or with --in-place the image to snapshot.")
  java.util.List<Path> files;

  @Override
  public Integer call() throws Exception {
    if (inPlace) {
      if (files.size() != 1) {
        throw new ErrorHandler.UsageException("--in-place takes one FILE");
      }
      Path base = Snapshots.snapshotInPlace(StorageProvider.FILES, files.get(0));
      out()
          .println(
              "Snapshot of "
                  + files.get(0)
                  + ": its previous contents are the hidden base "
                  + base);
      return ExitCode.OK;
    }
    if (files.size() != 2) {
      throw new ErrorHandler.UsageException("expected PARENT CHILD (or --in-place FILE)");
    }
    Snapshots.createChild(files.get(0), files.get(1));
    out().println("Created " + files.get(1) + ": differencing over " + files.get(0));
    return ExitCode.OK;
  }
}
