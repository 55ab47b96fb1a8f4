package io.vdisk.engine.sr;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The VHD files of an SR and their parentage, read from footers and headers only (as {@code
 * vhd-util scan} does): a VDI's UUID is its file name, its parent is the file whose footer UUID its
 * header names.
 */
final class SrTree {
  static final Pattern VHD_NAME =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.vhd");

  /** One file. */
  record Node(
      String vdi,
      UUID footerUuid,
      UUID parentFooterUuid,
      boolean hidden,
      long virtualSize,
      long physicalSize,
      int allocatedBlocks,
      String problem,
      java.time.Instant created) {
    boolean differencing() {
      return parentFooterUuid != null;
    }
  }

  private final Map<String, Node> nodes;
  private final List<String> refused;
  private final Map<UUID, String> byFooter = new HashMap<>();

  private SrTree(Map<String, Node> nodes, List<String> refused) {
    this.nodes = nodes;
    this.refused = refused;
    for (Node n : nodes.values()) {
      if (n.footerUuid() != null) {
        byFooter.put(n.footerUuid(), n.vdi());
      }
    }
  }

  static SrTree read(Path dir) throws IOException {
    Map<String, Node> nodes = new TreeMap<>();
    List<String> refused = new ArrayList<>();
    Path real = dir.toRealPath();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.vhd")) {
      for (Path f : ds) {
        String name = f.getFileName().toString();
        if (!VHD_NAME.matcher(name).matches() || !Files.isRegularFile(f)) {
          continue;
        }
        String vdi = name.substring(0, name.length() - 4);
        if (Files.isSymbolicLink(f) && !f.toRealPath().startsWith(real)) {
          // A VDI's file is the SR's own: a link to a file elsewhere is never used.
          refused.add(
              name
                  + " is a symbolic link to "
                  + io.vdisk.engine.io.Printable.of(f.toRealPath().toString())
                  + ", outside the SR: not used");
          continue;
        }
        nodes.put(vdi, node(vdi, f));
      }
    }
    return new SrTree(nodes, refused);
  }

  /** One file's node; a file that does not open as a VHD is a node with its problem. */
  private static Node node(String vdi, Path f) throws IOException {
    try (VhdImage img = peek(f)) {
      return node(vdi, img);
    } catch (IOException e) {
      return new Node(vdi, null, null, false, 0, Files.size(f), 0, e.getMessage(), null);
    }
  }

  private static Node node(String vdi, VhdImage img) throws IOException {
    return new Node(
        vdi,
        img.footer().uniqueId(),
        img.isDifferencing() ? img.header().parentUuid() : null,
        img.footer().isHidden(),
        img.size(),
        img.fileSize(),
        img.allocatedBlocks(),
        null,
        io.vdisk.vhd.VhdTime.toInstant(img.footer().timestamp()));
  }

  private static VhdImage peek(Path f) throws IOException {
    return VhdImage.open(StorageProvider.FILES.open(f, StorageProvider.Access.PEEK), true);
  }

  /** The node of {@code vdi}'s file alone, or null when the SR holds no such file. */
  static Node node(Path dir, String vdi) throws IOException {
    Path f = dir.resolve(vdi + ".vhd");
    return Files.isRegularFile(f) ? node(vdi, f) : null;
  }

  /**
   * The nodes of {@code vdi} and its ancestors only, each parent found through its child's locators
   * (as a chain opens) inside the SR: O(depth) files opened, not the SR's all, for clones and
   * snapshots. Null when that way fails anywhere (a file missing or outside the SR, a parent named
   * by no locator, a loop): the caller then reads the whole tree, which finds parents by UUID.
   */
  static SrTree readChain(Path dir, String vdi) throws IOException {
    Map<String, Node> nodes = new TreeMap<>();
    Path real = dir.toRealPath();
    String v = vdi;
    while (v != null) {
      Path f = dir.resolve(v + ".vhd");
      if (nodes.containsKey(v)
          || nodes.size() > StorageRepository.MAX_CHAIN
          || !Files.isRegularFile(f)
          || !f.toRealPath().startsWith(real)) {
        return null;
      }
      // one open per file: its node, and through its locators, its parent's name
      try (VhdImage img = peek(f)) {
        Node n = node(v, img);
        nodes.put(v, n);
        if (n.parentFooterUuid() == null) {
          break;
        }
        v = parentIn(real, img, f);
      } catch (IOException e) {
        return null; // a file that does not open, or a parent not found so
      }
      if (v == null) {
        return null;
      }
    }
    return new SrTree(nodes, List.of());
  }

  /** The VDI that {@code img}'s locators name as its parent, in the SR at {@code real}, or null. */
  private static String parentIn(Path real, VhdImage img, Path f) throws IOException {
    io.vdisk.engine.image.ParentResolver.Found p =
        io.vdisk.engine.image.ParentResolver.open(
            img, f, StorageProvider.FILES, StorageProvider.Access.PEEK, real);
    p.image().close();
    String name = p.path().getFileName().toString();
    boolean here = p.path().toRealPath().getParent().equals(real);
    return here && VHD_NAME.matcher(name).matches() ? name.substring(0, name.length() - 4) : null;
  }

  /** Files that look like VDIs but are not used (symbolic links leaving the SR), one line each. */
  List<String> refused() {
    return refused;
  }

  Map<String, Node> nodes() {
    return nodes;
  }

  Node node(String vdi) {
    return nodes.get(vdi);
  }

  /** The VDI whose file is this one's parent, or null (none, or not in the SR). */
  String parent(String vdi) {
    Node n = nodes.get(vdi);
    return n == null || n.parentFooterUuid() == null ? null : byFooter.get(n.parentFooterUuid());
  }

  List<String> children(String vdi) {
    List<String> out = new ArrayList<>();
    for (Node n : nodes.values()) {
      if (vdi.equals(parent(n.vdi()))) {
        out.add(n.vdi());
      }
    }
    return out;
  }

  /** Layers from this VDI down to its root (1 for a standalone image). */
  int depth(String vdi) {
    int d = 0;
    for (String v = vdi; v != null && d <= nodes.size(); v = parent(v)) {
      d++;
    }
    return d;
  }
}
