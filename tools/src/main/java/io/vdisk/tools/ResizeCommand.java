package io.vdisk.tools;

import io.vdisk.engine.Resizer;
import io.vdisk.engine.io.StorageProvider;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "resize",
    description = {
      "Change the virtual size of a dynamic or differencing image.",
      "Change the virtual size of a dynamic or differencing image. Growing past the BAT's capacity rewrites the file (same UUID) and renames it into place. Shrinking needs --shrink and is refused if it would drop non-zero data."
    })
final class ResizeCommand extends VdiskCommand {
  @Option(names = "--shrink", description = "Allow the new size to be smaller.")
  boolean shrink;

  @Parameters(index = "0", paramLabel = "FILE", description = "A dynamic or differencing image.")
  Path file;

  @Parameters(
      index = "1",
      paramLabel = "SIZE",
      converter = Sizes.class,
      description = "The new virtual size (K, M, G, T).")
  long size;

  @Override
  public Integer call() throws Exception {
    Resizer.resize(StorageProvider.FILES, file, size, shrink);
    out().printf("Resized %s to %s (%d bytes)%n", file, Sizes.human(size), size);
    return ExitCode.OK;
  }
}
