package io.vdisk.fuse;

import io.vdisk.engine.Disks;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.xva.OvaArchive;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaDisk;
import io.vdisk.engine.xva.XvaException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a mount shows for each kind of source: an image or chain leaf → one file {@code disk}; an SR
 * directory → one file per VDI, {@code <name-label>_<uuid>} (snapshots and templates' disks
 * read-only, base copies not shown); an uncompressed XVA → one read-only file per disk, {@code
 * <Ref-N>_<name-label>}, served from the archive in place.
 */
public final class Mounts {
  private Mounts() {}

  public static Map<String, DiskFs.Entry> open(Path source, boolean readOnly) throws IOException {
    if (Files.isDirectory(source)) {
      if (!Files.exists(source.resolve("sr.db"))) {
        throw new java.nio.file.NoSuchFileException(
            source.toString(), null, "is a directory but not an SR (no sr.db)");
      }
      return openSr(source, readOnly);
    }
    if (looksLikeXva(source)) {
      Map<String, DiskFs.Entry> out = new LinkedHashMap<>();
      for (Map.Entry<OvaArchive.Disk, XvaDisk> e : XvaDisk.openAll(source).entrySet()) {
        Object label = e.getKey().vdi().snapshot().get("name_label");
        String name =
            e.getKey().id().replace(':', '-') + (label == null ? "" : "_" + safe(label.toString()));
        out.put(name, new DiskFs.Entry(e.getValue(), true));
      }
      return out;
    }
    // An SR's VDI goes through its SR (its rules and the VDI's lock); anything else is opened
    // directly, a write open under the engine's WriteRule (a base or a parent is refused).
    VirtualDisk d =
        WriteRule.srVdi(source).isPresent()
            ? StorageRepository.openVdiFile(source, readOnly, "mount")
            : Disks.open(source, null, readOnly);
    return Map.of("disk", new DiskFs.Entry(d, readOnly));
  }

  private static Map<String, DiskFs.Entry> openSr(Path dir, boolean readOnly) throws IOException {
    Map<String, DiskFs.Entry> out = new LinkedHashMap<>();
    List<VirtualDisk> opened = new ArrayList<>();
    try (StorageRepository sr = StorageRepository.open(dir, false, "mount")) {
      for (StorageRepository.VdiView v : sr.vdis()) {
        if (!v.managed() || v.problem() != null) {
          continue;
        }
        boolean ro = readOnly || v.readOnly();
        VirtualDisk d = sr.openVdi(v.uuid(), ro, "mount");
        opened.add(d);
        out.put(safe(v.name()) + "_" + v.uuid(), new DiskFs.Entry(d, ro));
      }
    } catch (IOException | RuntimeException e) {
      for (VirtualDisk d : opened) {
        d.close();
      }
      throw e;
    }
    return out;
  }

  /** A tar whose first entry is ova.xml; compressed archives are refused with advice. */
  static boolean looksLikeXva(Path file) throws IOException {
    byte[] head;
    try (InputStream in = Files.newInputStream(file)) {
      head = in.readNBytes(512);
    }
    XvaCompression c = XvaCompression.ofHead(head);
    if (c != XvaCompression.NONE) {
      throw new XvaException(
          String.format(
              "%s is a %s-compressed XVA: decompress it first (%s)",
              file, c.name().toLowerCase(java.util.Locale.ROOT), c.decompressCommand()));
    }
    return head.length == 512
        && new String(head, 0, 8, StandardCharsets.US_ASCII).equals("ova.xml\0");
  }

  private static String safe(String s) {
    String t = s.replaceAll("[^A-Za-z0-9._-]", "_");
    return t.isEmpty() ? "_" : t;
  }
}
