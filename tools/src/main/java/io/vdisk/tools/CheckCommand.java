package io.vdisk.tools;

import io.vdisk.engine.Coalescer;
import io.vdisk.engine.Finding;
import io.vdisk.engine.ImageChecker;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "check",
    description = {
      "Check every structural rule of an image and its chain; exit 0 only when clean.",
      "Check every structural rule of an image and its chain. Exit 0 only when clean (warnings allowed). --repair rewrites a torn or missing footer and a stale batmap, and finishes an interrupted coalesce in the image's directory."
    })
final class CheckCommand extends VdiskCommand {
  @Option(names = "--repair", description = "Repair what can be repaired, then check again.")
  boolean repair;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Parameters(
      index = "0",
      paramLabel = "FILE",
      description = "The image (its whole chain is checked).")
  Path file;

  @Override
  public Integer call() throws Exception {
    boolean repaired = false;
    if (repair) {
      Path dir = file.toAbsolutePath().normalize().getParent();
      Coalescer.Recovery r = Coalescer.recover(StorageProvider.FILES, dir);
      r.warnings().forEach(w -> err().println("vdisk: warning: " + w));
      if (!r.finished().isEmpty()) {
        out().println("finished " + r.finished().size() + " interrupted coalesce(s) in " + dir);
        repaired = true;
      }
    }
    if (repair && share.forceShare) {
      throw new ErrorHandler.UsageException("--repair writes the image; it cannot be used with -U");
    }
    List<Finding> findings = ImageChecker.check(file, share.readAccess());
    if (repair && findings.stream().anyMatch(Finding::repairable)) {
      ImageChecker.repair(file);
      repaired = true;
      findings = ImageChecker.check(file);
    }
    long errors = findings.stream().filter(f -> f.severity() == Finding.Severity.ERROR).count();
    if (json) {
      printJson(
          fields(
              "file",
              file.toString(),
              "clean",
              errors == 0,
              "repaired",
              repaired,
              "findings",
              findings.stream()
                  .map(
                      f ->
                          fields(
                              "severity", f.severity().name().toLowerCase(java.util.Locale.ROOT),
                              "message", f.message(),
                              "repairable", f.repairable()))
                  .toList()));
    } else {
      for (Finding f : findings) {
        out()
            .println(
                f.severity().name().toLowerCase(java.util.Locale.ROOT)
                    + ": "
                    + f.message()
                    + (f.repairable() ? " [repairable with --repair]" : ""));
      }
      if (repaired) {
        out().println("repaired " + file);
      }
      out().println(errors == 0 ? file + " is clean" : file + ": " + errors + " error(s)");
    }
    return errors == 0 ? ExitCode.OK : ExitCode.FAILED;
  }
}
