package io.vdisk.tools;

import io.vdisk.engine.Snapshots;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "snapshot",
    description =
        "Create CHILD as an empty differencing image over PARENT (same as create --parent).")
final class SnapshotCommand extends VdiskCommand {
  @Parameters(index = "0", paramLabel = "PARENT")
  Path parent;

  @Parameters(index = "1", paramLabel = "CHILD")
  Path child;

  @Override
  public Integer call() throws Exception {
    Snapshots.createChild(parent, child);
    out().println("Created " + child + ": differencing over " + parent);
    return ExitCode.OK;
  }
}
