package io.vdisk.tools;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Disks;
import io.vdisk.engine.image.VhdImage;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.VhdLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "info",
    description =
        "Show an image: type, sizes, blocks, creator, UUID, hidden flag and its parent chain.")
final class InfoCommand extends VdiskCommand {
  @Option(names = "--json", description = "Print JSON (as --output=json).")
  boolean json;

  @Option(
      names = "--output",
      paramLabel = "FMT",
      description = "human or json, as qemu-img info takes it.")
  String output;

  @Parameters(index = "0", paramLabel = "FILE", description = "The image or chain leaf.")
  Path file;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Override
  public Integer call() throws Exception {
    if (output != null) {
      if (!output.equals("json") && !output.equals("human")) {
        throw new ErrorHandler.UsageException("--output=" + output + ": use human or json");
      }
      json |= output.equals("json");
    }
    if (Disks.sniff(file) == Disks.Format.RAW) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("virtual-size", Files.size(file));
      m.put("filename", file.toString());
      m.put("format", "raw");
      m.put("actual-size", Files.size(file));
      m.put("dirty-flag", false);
      m.put("file", file.toString());
      m.put("file-size", Files.size(file));
      if (json) {
        printJson(m);
      } else {
        out()
            .printf(
                "file: %s%nformat: raw%nvirtual size: %s (%d bytes)%n",
                file, Sizes.human(Files.size(file)), Files.size(file));
      }
      return ExitCode.OK;
    }
    try (DiskChain chain = DiskChain.open(file, share.readAccess())) {
      List<Map<String, Object>> layers = new ArrayList<>();
      for (int i = 0; i < chain.depth(); i++) {
        layers.add(describe(chain.layers().get(i), chain.paths().get(i), i));
      }
      Map<String, Object> top = qemuFields(chain, layers.get(0), file);
      layers.get(0).forEach(top::putIfAbsent); // vdisk's own fields after qemu's
      top.remove("depth");
      top.put("chain-depth", chain.depth());
      top.put("chain", layers);
      if (json) {
        printJson(top);
        return ExitCode.OK;
      }
      printHuman(layers.get(0));
      out().printf("chain depth: %d%n", chain.depth());
      for (Map<String, Object> l : layers) {
        out()
            .printf(
                "  [%s] %s  %s  %s  uuid %s%s%n",
                l.get("depth"),
                l.get("file"),
                l.get("type"),
                Sizes.human((Long) l.get("virtual-size")),
                l.get("uuid"),
                Boolean.TRUE.equals(l.get("hidden")) ? "  hidden" : "");
      }
      return ExitCode.OK;
    }
  }

  /**
   * The fields of {@code qemu-img info --output=json}, with qemu's names and meanings, first:
   * {@code format} is qemu's driver name ({@code vpc}); {@code cluster-size} a dynamic image's
   * block size; a differencing image's parent is its {@code backing-filename} (as its locator names
   * it) and {@code full-backing-filename} (the file it resolves to), which qemu's vpc driver does
   * not read but qcow2 users expect. {@code actual-size} is the file's length here, where qemu
   * counts the file system's allocated blocks (the same for a file without holes).
   */
  private static Map<String, Object> qemuFields(
      DiskChain chain, Map<String, Object> leaf, Path given) {
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("virtual-size", leaf.get("virtual-size"));
    q.put("filename", given.toString());
    if (leaf.containsKey("block-size")) {
      q.put("cluster-size", leaf.get("block-size"));
    }
    q.put("format", "raw".equals(leaf.get("format")) ? "raw" : "vpc");
    q.put("actual-size", leaf.get("file-size"));
    q.put("dirty-flag", false);
    if (chain.depth() > 1) {
      q.put("backing-filename", leaf.get("parent-name"));
      q.put("full-backing-filename", chain.paths().get(1).toAbsolutePath().toString());
      q.put("backing-filename-format", chain.layers().get(1).isRaw() ? "raw" : "vpc");
    }
    return q;
  }

  private void printHuman(Map<String, Object> m) {
    out().printf("file: %s%n", m.get("file"));
    out().printf("format: vhd (%s)%n", m.get("type"));
    long vs = (Long) m.get("virtual-size");
    out().printf("virtual size: %s (%d bytes)%n", Sizes.human(vs), vs);
    long fs = (Long) m.get("file-size");
    out().printf("file size: %s (%d bytes)%n", Sizes.human(fs), fs);
    if (m.containsKey("block-size")) {
      out().printf("block size: %s%n", m.get("block-size"));
      out()
          .printf("allocated blocks: %s of %s%n", m.get("allocated-blocks"), m.get("total-blocks"));
    }
    out().printf("creator: %s %s%n", m.get("creator"), m.get("creator-version"));
    out().printf("uuid: %s%n", m.get("uuid"));
    out().printf("hidden: %s%n", m.get("hidden"));
    if (m.containsKey("parent-uuid")) {
      out().printf("parent: %s (uuid %s)%n", m.get("parent-name"), m.get("parent-uuid"));
    }
  }

  static Map<String, Object> describe(VhdImage img, Path path, int depth)
      throws java.io.IOException {
    Footer f = img.footer();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("depth", depth);
    m.put("file", path.toString());
    if (img.isRaw()) {
      // the raw parent of a vhd-util snapshot -m child: no VHD fields to show
      m.put("format", "raw");
      m.put("virtual-size", img.size());
      m.put("file-size", img.fileSize());
      return m;
    }
    m.put("format", "vhd");
    m.put("type", f.type().label());
    m.put("virtual-size", f.currentSize());
    m.put("file-size", img.fileSize());
    if (!img.isFixed()) {
      m.put("block-size", img.blockSize());
      m.put("allocated-blocks", img.allocatedBlocks());
      m.put("total-blocks", img.blockCount());
    }
    m.put("creator", VhdLayout.fourCc(f.creatorApplication()));
    m.put("creator-version", (f.creatorVersion() >>> 16) + "." + (f.creatorVersion() & 0xFFFF));
    m.put("uuid", f.uniqueId().toString());
    m.put("hidden", f.isHidden());
    m.put("geometry", f.geometry().toString());
    if (img.isDifferencing()) {
      m.put("parent-uuid", img.header().parentUuid().toString());
      m.put("parent-name", img.header().parentName());
    }
    return m;
  }
}
