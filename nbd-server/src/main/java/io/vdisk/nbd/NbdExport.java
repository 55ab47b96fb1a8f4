package io.vdisk.nbd;

import io.vdisk.engine.VirtualDisk;
import java.util.List;

/**
 * One disk the server offers: its names (the first is the one {@code NBD_OPT_LIST} shows; a VDI
 * answers to its file name and its UUID), the disk, opened by the caller under its locks and write
 * rule, and whether clients may write it.
 */
public record NbdExport(
    List<String> names, String description, VirtualDisk disk, boolean readOnly) {
  public NbdExport {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("an export needs a name");
    }
    names = List.copyOf(names);
    readOnly = readOnly || disk.isReadOnly();
  }

  String name() {
    return names.get(0);
  }
}
