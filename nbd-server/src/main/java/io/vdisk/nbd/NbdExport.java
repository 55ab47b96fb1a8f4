package io.vdisk.nbd;

import io.vdisk.engine.VirtualDisk;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.roaringbitmap.RoaringBitmap;

/**
 * One disk the server offers: its names (the first is the one {@code NBD_OPT_LIST} shows; a VDI
 * answers to its file name and its UUID), the disk, opened by the caller under its locks and write
 * rule, whether clients may write it, and its dirty bitmaps: for each name, the 512-byte sectors
 * changed since a snapshot ({@code qemu:dirty-bitmap:NAME}), which writes through this server mark
 * too.
 */
public record NbdExport(
    List<String> names,
    String description,
    VirtualDisk disk,
    boolean readOnly,
    Map<String, RoaringBitmap> dirty) {
  /** The metadata-context namespace of dirty bitmaps, as qemu names it. */
  public static final String DIRTY_BITMAP = "qemu:dirty-bitmap:";

  public NbdExport {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("an export needs a name");
    }
    names = List.copyOf(names);
    readOnly = readOnly || disk.isReadOnly();
    dirty = new LinkedHashMap<>(dirty);
  }

  public NbdExport(List<String> names, String description, VirtualDisk disk, boolean readOnly) {
    this(names, description, disk, readOnly, Map.of());
  }

  String name() {
    return names.get(0);
  }

  /** Every metadata context this export offers, {@code base:allocation} first. */
  List<String> contexts() {
    List<String> out = new ArrayList<>(List.of(Nbd.BASE_ALLOCATION));
    for (String n : dirty.keySet()) {
      out.add(DIRTY_BITMAP + n);
    }
    return out;
  }

  /** Marks a client's write in every dirty bitmap. */
  void written(long offset, long length) {
    if (dirty.isEmpty() || length <= 0) {
      return;
    }
    long first = offset / 512;
    long end = (offset + length + 511) / 512;
    for (RoaringBitmap b : dirty.values()) {
      synchronized (b) {
        b.add(first, end);
      }
    }
  }

  /**
   * The runs of bitmap {@code name} over {@code [from, to)}: {@code {length, dirty ? 1 : 0}} pairs,
   * at most {@code max}.
   */
  List<long[]> dirtyRuns(String name, long from, long to, int max) {
    RoaringBitmap b = dirty.get(name);
    List<long[]> out = new ArrayList<>();
    synchronized (b) {
      long pos = from;
      while (pos < to && out.size() < max) {
        long sector = pos / 512;
        boolean isDirty = b.contains((int) sector);
        long next = isDirty ? b.nextAbsentValue((int) sector) : b.nextValue((int) sector);
        long nextPos = next < 0 ? to : Math.min(to, next * 512);
        if (nextPos <= pos) {
          nextPos = Math.min(to, (sector + 1) * 512);
        }
        out.add(new long[] {nextPos - pos, isDirty ? 1 : 0});
        pos = nextPos;
      }
    }
    return out;
  }
}
