package io.vdisk.engine.image;

import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.ParentLocator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds a differencing image's parent as libvhd does: the locators MacX, W2ku, W2ru in slot order,
 * then the header's parent name, each relative to the child's directory unless absolute. A
 * candidate is accepted only if its footer UUID is the one the child recorded; the timestamp is
 * ignored, as tapdisk does (docs/reference/vhd-format-notes.md §1.12).
 */
public final class ParentResolver {
  private ParentResolver() {}

  /** Candidate parent paths for {@code child}, best first, without duplicates. */
  static List<Path> candidates(VhdImage child, Path childPath) throws IOException {
    DynamicHeader h = child.header();
    Path dir = childPath.toAbsolutePath().normalize().getParent();
    Set<Path> out = new LinkedHashSet<>();
    for (int code : new int[] {ParentLocator.MACX, ParentLocator.W2KU, ParentLocator.W2RU}) {
      for (ParentLocator l : h.locators()) {
        if (l.platformCode() != code) {
          continue;
        }
        String p = ParentLocator.decodePath(code, VhdParent.locatorData(child, l));
        if (!p.isEmpty()) {
          out.add(resolve(dir, p));
        }
      }
    }
    String name = h.parentName();
    int slash = Math.max(name.lastIndexOf('\\'), name.lastIndexOf('/'));
    String base = slash >= 0 ? name.substring(slash + 1) : name;
    if (!base.isEmpty()) {
      out.add(dir.resolve(base).normalize());
    }
    return new ArrayList<>(out);
  }

  private static Path resolve(Path dir, String p) {
    Path candidate = dir.getFileSystem().getPath(p);
    return (candidate.isAbsolute() ? candidate : dir.resolve(candidate)).normalize();
  }

  /** An opened parent and the path it was found at. */
  public record Found(Path path, VhdImage image) {}

  /** Opens the parent read-only, or fails naming what was tried and what was wrong. */
  public static Found open(
      VhdImage child,
      Path childPath,
      StorageProvider provider,
      StorageProvider.Access access,
      Path confineTo)
      throws IOException {
    List<Path> tried = candidates(child, childPath);
    List<String> problems = new ArrayList<>();
    boolean rawParent =
        child.header().parentUuid().getMostSignificantBits() == 0
            && child.header().parentUuid().getLeastSignificantBits() == 0;
    for (Path p : tried) {
      if (!Files.isRegularFile(p)) {
        continue;
      }
      if (confineTo != null && !p.toRealPath().startsWith(confineTo.toRealPath())) {
        problems.add(p + " is outside " + confineTo);
        continue;
      }
      if (rawParent) {
        // vhd-util snapshot -m: the parent is a raw file, read as it is (libvhd __raw_read_link)
        return new Found(p, VhdImage.openRaw(provider.open(p, access)));
      }
      VhdImage parent;
      try {
        parent = VhdImage.open(provider.open(p, access), true);
      } catch (io.vdisk.vhd.CorruptImageException | io.vdisk.vhd.UnsupportedImageException e) {
        // Not a VHD (or not one we read): another locator or the header's name may still name
        // the right parent, as libvhd tries them all.
        problems.add(p + ": " + e.getMessage());
        continue;
      }
      if (parent.footer().uniqueId().equals(child.header().parentUuid())) {
        return new Found(p, parent);
      }
      problems.add(
          p
              + " has UUID "
              + parent.footer().uniqueId()
              + ", expected "
              + child.header().parentUuid());
      parent.close();
    }
    if (!problems.isEmpty()) {
      throw new CorruptImageException(
          child.name() + ": parent not usable: " + String.join("; ", problems));
    }
    throw new java.nio.file.NoSuchFileException(
        child.name(),
        null,
        "parent '" + child.header().parentName() + "' not found (tried " + tried + ")");
  }
}
