package io.vdisk.tools;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Disks;
import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "map",
    description =
        "List the allocated extents of an image, and the chain layer holding each (like qemu-img map).")
final class MapCommand extends VdiskCommand {
  @Option(names = "--json", description = "Print JSON: every extent, data and zero.")
  boolean json;

  @Option(names = "-f", paramLabel = "FMT", description = "Format: raw or vhd (default: detected).")
  String format;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Parameters(index = "0", paramLabel = "FILE", description = "The image or chain leaf.")
  Path file;

  @Override
  public Integer call() throws Exception {
    try (VirtualDisk disk =
        Disks.open(file, ConvertCommand.parseFormat(format), share.readAccess())) {
      List<Extent> extents = disk.extents(0, disk.size());
      List<Path> paths = disk instanceof DiskChain c ? c.paths() : List.of(file);
      if (json) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Extent e : extents) {
          Map<String, Object> m = new LinkedHashMap<>();
          boolean data = e.kind() == Extent.Kind.DATA;
          m.put("start", e.offset());
          m.put("length", e.length());
          m.put("depth", Math.max(0, e.layer()));
          m.put("present", data);
          m.put("zero", !data);
          m.put("data", data);
          if (data && e.layer() >= 0) {
            m.put("file", paths.get(e.layer()).toString());
          }
          rows.add(m);
        }
        printJson(rows);
        return ExitCode.OK;
      }
      out().printf("%-20s%-20s%-7s%s%n", "Offset", "Length", "Depth", "File");
      for (Extent e : extents) {
        if (e.kind() == Extent.Kind.DATA) {
          out()
              .printf(
                  "0x%-18x0x%-18x%-7d%s%n",
                  e.offset(),
                  e.length(),
                  Math.max(0, e.layer()),
                  paths.get(Math.max(0, e.layer())));
        }
      }
      return ExitCode.OK;
    }
  }
}
