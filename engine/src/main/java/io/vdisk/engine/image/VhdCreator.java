package io.vdisk.engine.image;

import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DiskType;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.UnsupportedImageException;
import io.vdisk.vhd.VhdLayout;
import io.vdisk.vhd.VhdTime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Lays out new images as blktap does, so that qemu, libvhdi and XenServer's vhd-util all read them
 * exactly: creator {@code tap\0} version 1.3 (qemu then trusts {@code current_size}), geometry by
 * the spec's algorithm rounded down ({@code vhd-util check} requires it no larger than the size),
 * features 0x2, and for dynamic images: footer copy at 0, header at 512, BAT at 1536, batmap header
 * and map after the BAT, parent locators (MacX, W2ku, W2ru; relative paths) after that.
 */
public final class VhdCreator {
  private VhdCreator() {}

  /** Parameters of a new image. */
  public record Spec(DiskType type, long size, int blockSize, UUID uuid, Instant now) {
    public static Spec dynamic(long size) {
      return new Spec(
          DiskType.DYNAMIC, size, VhdLayout.DEFAULT_BLOCK_SIZE, UUID.randomUUID(), Instant.now());
    }

    public static Spec fixed(long size) {
      return new Spec(
          DiskType.FIXED, size, VhdLayout.DEFAULT_BLOCK_SIZE, UUID.randomUUID(), Instant.now());
    }
  }

  /** The parent a differencing image records: UUID, timestamp, name and relative path. */
  public record ParentLink(UUID uuid, int timestamp, String name, String relativePath) {}

  /** Refuses sizes vdisk will not create, with the reason. */
  public static void validateSize(long size) throws UnsupportedImageException {
    if (size <= 0) {
      throw new UnsupportedImageException("size must be positive, got " + size);
    }
    if (size % VhdLayout.SECTOR != 0) {
      throw new UnsupportedImageException(
          "size " + size + " is not a multiple of 512 bytes (a VHD holds whole sectors)");
    }
    if (size > VhdLayout.MAX_SIZE) {
      throw new UnsupportedImageException(
          String.format(
              "size %d bytes (%.1f GiB) is above the VHD limit of 2040 GiB",
              size, size / (double) (1L << 30)));
    }
  }

  /** Creates a fixed image: sparse zeros of {@code size} bytes, then the footer. */
  public static void createFixed(StorageProvider p, Path path, Spec spec) throws IOException {
    validateSize(spec.size());
    Footer f = Footer.create(DiskType.FIXED, spec.size(), spec.uuid(), time(spec), -1L);
    publish(
        p,
        path,
        s -> {
          s.write(f.toBuffer(), spec.size());
        });
  }

  /** Creates {@code path} whole or not at all, with {@code content} written into it. */
  private static void publish(StorageProvider p, Path path, Content content) throws IOException {
    Publisher.publish(
        p,
        path,
        "new",
        false,
        tmp -> {
          try (Storage s = p.create(tmp)) {
            content.writeTo(s);
            s.force();
          }
          return null;
        });
  }

  /** What to write into a new file before it gets its name. */
  @FunctionalInterface
  private interface Content {
    void writeTo(Storage s) throws IOException;
  }

  /** Creates an empty dynamic image. */
  public static void createDynamic(StorageProvider p, Path path, Spec spec) throws IOException {
    createSparse(p, path, spec, null);
  }

  /** Creates an empty differencing image over {@code parent}. */
  public static void createDifferencing(StorageProvider p, Path path, Spec spec, ParentLink parent)
      throws IOException {
    createSparse(p, path, spec, parent);
  }

  /** The link a child at {@code child} records for {@code parent}, relative to its directory. */
  public static ParentLink linkTo(Path child, Path parent, Footer parentFooter) throws IOException {
    Path dir = child.toAbsolutePath().normalize().getParent();
    Path target = parent.toAbsolutePath().normalize();
    String rel = dir.relativize(target).toString().replace('\\', '/');
    Instant mtime = Files.getLastModifiedTime(parent).toInstant();
    return new ParentLink(
        parentFooter.uniqueId(), VhdTime.of(mtime), target.getFileName().toString(), rel);
  }

  private static void createSparse(StorageProvider p, Path path, Spec spec, ParentLink parent)
      throws IOException {
    validateSize(spec.size());
    int bs = spec.blockSize();
    if (!VhdLayout.isPowerOfTwo(bs) || bs < VhdLayout.MIN_BLOCK_SIZE || bs > 2 * 1024 * 1024) {
      throw new UnsupportedImageException(
          "block size " + bs + " must be a power of two from 512 B to 2 MiB");
    }
    int entries = (int) VhdLayout.blocksFor(spec.size(), bs);
    List<DynamicLayout.Locator> paths = new ArrayList<>();
    if (parent != null) {
      for (int code : new int[] {ParentLocator.MACX, ParentLocator.W2KU, ParentLocator.W2RU}) {
        paths.add(
            new DynamicLayout.Locator(code, ParentLocator.encodePath(code, parent.relativePath())));
      }
    }
    DynamicLayout layout = DynamicLayout.of(entries, paths);
    DynamicHeader header = DynamicHeader.create(layout.tableOffset(), entries, bs);
    if (parent != null) {
      header =
          header.withParent(parent.uuid(), parent.timestamp(), parent.name(), layout.locators());
    }
    DiskType type = parent == null ? DiskType.DYNAMIC : DiskType.DIFFERENCING;
    Footer footer = Footer.create(type, spec.size(), spec.uuid(), time(spec), Footer.SIZE);
    ByteBuffer meta =
        layout.metadata(
            footer,
            header,
            BlockAllocationTable.empty(entries),
            io.vdisk.vhd.Batmap.empty(layout.batmapBytes()));
    publish(
        p,
        path,
        s -> {
          s.write(meta, 0);
          s.write(footer.toBuffer(), layout.end());
        });
  }

  private static int time(Spec spec) {
    return VhdTime.of(spec.now());
  }
}
