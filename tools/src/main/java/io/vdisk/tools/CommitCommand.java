package io.vdisk.tools;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "commit",
    description = {
      "Write CHILD's changes into its parent and leave CHILD empty, as qemu-img commit.",
      "Write CHILD's changes into its parent and leave CHILD empty over it, as qemu-img commit does: a coalesce (journaled, refused when the parent has other children) followed by a new empty CHILD with the same UUID. If the second step is cut short, CHILD is missing and its data is in the parent: 'vdisk create -b PARENT CHILD' makes it again.",
      "  vdisk commit -p child.vhd"
    })
final class CommitCommand extends VdiskCommand {
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
    UUID id;
    try (DiskChain c = DiskChain.open(child, StorageProvider.Access.PEEK)) {
      if (!c.leaf().isDifferencing()) {
        throw new ErrorHandler.UsageException(child + " has no parent to commit into");
      }
      id = c.leaf().footer().uniqueId();
    }
    Coalescer.Result r;
    try (ProgressBar bar = new ProgressBar(err(), "commit", progress, false)) {
      r = Coalescer.coalesce(StorageProvider.FILES, child, false, bar);
    }
    r.warnings().forEach(w -> err().println("vdisk: warning: " + w));
    Snapshots.createChild(StorageProvider.FILES, r.parent(), child, id);
    out()
        .printf(
            "Image committed: %s written into %s; %s is empty over it%n",
            Sizes.human(r.bytesCopied()), r.parent(), child);
    return ExitCode.OK;
  }
}
