package io.vdisk.engine;

import io.vdisk.engine.image.VhdImage;
import io.vdisk.engine.io.ImageLock;
import io.vdisk.engine.io.ImageRefusedException;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Who may write an image: the engine's one rule, applied where an image is opened or changed for
 * writing (a chain's leaf, a resize, an in-place snapshot), whatever adapter asks. The spec's rule
 * is that a parent with children is never modified; XenServer's storage manager adds that a hidden
 * base copy is read-only to everything but its own coalesce.
 *
 * <ul>
 *   <li>A hidden base copy is refused: its children read through it.
 *   <li>A parent that another image in its directory names is refused: writing it would change what
 *       that child reads.
 *   <li>A VDI file inside a storage repository is refused to loose writers: the SR writes it, after
 *       its own rules (snapshots, templates' disks and base copies are read-only) and under the
 *       VDI's lock.
 * </ul>
 *
 * An image in use by another opener is refused by its {@link ImageLock}, before this rule runs.
 * Every refusal is one {@link ImageRefusedException} with one sentence saying why and what to do.
 */
public final class WriteRule {
  /** How the caller vouches for a write. */
  public enum Grant {
    /** A user's write: every rule applies. */
    USER,
    /**
     * A user's write with {@code --force}: a hidden base or a parent may be written, knowing that
     * every image that reads through it changes. Never an SR's file, never past a lock.
     */
    FORCE,
    /** The engine writes an image it just created and has not published yet. */
    NEW_IMAGE,
    /**
     * The caller applied its own, stricter rule: the SR writing one of its VDIs under the VDI's
     * lock, or a coalesce writing a parent whose only child is the image being merged into it.
     */
    CHECKED
  }

  private WriteRule() {}

  /** Refuses the write, or returns. {@code img} is the image at {@code path}, already open. */
  public static void check(Path path, VhdImage img, Grant grant) throws IOException {
    if (grant == Grant.NEW_IMAGE || grant == Grant.CHECKED) {
      return;
    }
    Optional<String> vdi = srVdi(path);
    if (vdi.isPresent()) {
      throw new ImageRefusedException(
          path.toString(),
          ImageRefusedException.Reason.READ_ONLY_VDI,
          "is VDI "
              + vdi.get()
              + " of the SR in "
              + path.toAbsolutePath().getParent()
              + "; change it through the SR (vdisk mount of the SR, the vdi-* verbs, sr-gc),"
              + " which keeps its rules and locks");
    }
    if (grant == Grant.FORCE) {
      return;
    }
    if (img.footer().isHidden()) {
      throw new ImageRefusedException(
          path.toString(),
          ImageRefusedException.Reason.SHARED_BASE,
          "is a hidden base copy: the images over it read through it; write one of them instead");
    }
    List<Path> children =
        Coalescer.childrenOf(
            StorageProvider.FILES,
            path.toAbsolutePath().normalize().getParent(),
            img.footer().uniqueId());
    if (!children.isEmpty()) {
      throw new ImageRefusedException(
          path.toString(),
          ImageRefusedException.Reason.SHARED_BASE,
          "is the parent of "
              + children.get(0).getFileName()
              + (children.size() > 1 ? " and " + (children.size() - 1) + " more" : "")
              + ": writing it would change what they read; write a child, or coalesce");
    }
  }

  /** The VDI a file is, when it is {@code <uuid>.vhd} in a storage repository's directory. */
  public static Optional<String> srVdi(Path path) {
    Path abs = path.toAbsolutePath().normalize();
    Path dir = abs.getParent();
    String name = abs.getFileName().toString();
    if (dir == null
        || !name.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.vhd")
        || !java.nio.file.Files.isRegularFile(dir.resolve("sr.db"))) {
      return Optional.empty();
    }
    return Optional.of(name.substring(0, name.length() - 4));
  }
}
