package io.vdisk.tools;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.ImageChecker;
import io.vdisk.engine.Snapshots;
import io.vdisk.engine.StorageProvider;
import io.vdisk.engine.VhdCreator;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "demo",
    description = {
      "A short tour in DIR (default ./vdisk-data): create a 64 MiB dynamic image, write to it,",
      "snapshot it, write to the child, then show info, map and check of the chain."
    })
final class DemoCommand extends VdiskCommand {
  @Parameters(index = "0", paramLabel = "DIR", defaultValue = "vdisk-data", arity = "0..1")
  Path dir;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(dir);
    Path base = dir.resolve("demo-base.vhd");
    Path child = dir.resolve("demo-child.vhd");
    Files.deleteIfExists(child);
    Files.deleteIfExists(base);
    VhdCreator.createDynamic(StorageProvider.FILES, base, VhdCreator.Spec.dynamic(64L << 20));
    out().println("$ vdisk create --size 64M " + base);
    try (DiskChain d = DiskChain.open(base, false)) {
      d.write(1 << 20, filled(64 << 10, 0xab));
      d.flush();
    }
    out().println("$ vdisk io " + base + " -c 'write -P 0xab 1M 64K'");
    Snapshots.createChild(base, child);
    out().println("$ vdisk snapshot " + base + " " + child);
    try (DiskChain d = DiskChain.open(child, false)) {
      d.write((1 << 20) + 512, filled(4096, 0x11));
      d.flush();
      ByteBuffer check = ByteBuffer.allocate(512);
      d.read(1 << 20, check);
      if (check.array()[0] != (byte) 0xab) {
        throw new IllegalStateException("demo read back the wrong data");
      }
    }
    out().println("$ vdisk io " + child + " -c 'write -P 0x11 1M+512 4K'");
    out().println();
    out().println("$ vdisk info " + child);
    Main.commandLine().setOut(out()).execute("info", child.toString());
    out().println();
    out().println("$ vdisk map " + child);
    Main.commandLine().setOut(out()).execute("map", child.toString());
    out().println();
    out().println("$ vdisk check " + child);
    boolean clean =
        ImageChecker.check(child).stream()
            .noneMatch(f -> f.severity() == io.vdisk.engine.Finding.Severity.ERROR);
    out().println(clean ? child + " is clean" : child + " has errors");
    out().println();
    out().println("Images are in " + dir.toAbsolutePath() + "; try: qemu-img info -f vpc " + base);
    return clean ? ExitCode.OK : ExitCode.FAILED;
  }

  private static ByteBuffer filled(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return ByteBuffer.wrap(b);
  }
}
