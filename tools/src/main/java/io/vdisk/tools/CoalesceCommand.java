package io.vdisk.tools;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "coalesce",
    description = {
      "Merge CHILD into its parent, relink its children, and remove CHILD.",
      "Merge CHILD's data into its parent, point CHILD's own children at that parent, and remove CHILD. Refused when another image in the parent's directory has the same parent (a shared base is never written) unless --force. Journaled: an interrupted coalesce is finished by the next coalesce or check --repair in that directory."
    })
final class CoalesceCommand extends VdiskCommand {
  @Option(names = "--force", description = "Write the parent even if it has other children.")
  boolean force;

  @Parameters(index = "0", paramLabel = "CHILD", description = "The differencing image to merge.")
  Path child;

  @Override
  public Integer call() throws Exception {
    Coalescer.Result r;
    try (ProgressBar bar = new ProgressBar(err(), "coalesce")) {
      r = Coalescer.coalesce(StorageProvider.FILES, child, force, bar);
    }
    r.warnings().forEach(w -> err().println("vdisk: warning: " + w));
    if (r.finishedEarlier()) {
      out().println("Finished the coalesce of " + child + " that was interrupted earlier");
      return ExitCode.OK;
    }
    out()
        .printf(
            "Coalesced %s into %s: %s copied; relinked %d child(ren)%s%n",
            r.child().getFileName(),
            r.parent(),
            Sizes.human(r.bytesCopied()),
            r.relinked().size(),
            r.relinked().isEmpty() ? "" : " " + r.relinked());
    return ExitCode.OK;
  }
}
