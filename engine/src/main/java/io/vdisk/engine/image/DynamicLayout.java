package io.vdisk.engine.image;

import io.vdisk.vhd.Batmap;
import io.vdisk.vhd.BatmapHeader;
import io.vdisk.vhd.BlockAllocationTable;
import io.vdisk.vhd.DynamicHeader;
import io.vdisk.vhd.Footer;
import io.vdisk.vhd.ParentLocator;
import io.vdisk.vhd.VhdLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Where vdisk puts the metadata of a dynamic or differencing image, as blktap does: footer copy at
 * 0, header at 512, BAT at 1536, batmap header and map after the BAT, then each parent locator's
 * path in a slot of whole sectors (space written in bytes, as blktap and Microsoft do). {@link
 * #end()} is where blocks may start.
 */
public record DynamicLayout(
    int entries,
    long tableOffset,
    long batmapHeaderOffset,
    long batmapOffset,
    long batmapBytes,
    List<ParentLocator> locators,
    List<byte[]> locatorData,
    long end) {

  /** A locator's platform code and the bytes of its path. */
  public record Locator(int code, byte[] data) {}

  public static DynamicLayout of(int entries, List<Locator> paths) {
    long tableOffset = Footer.SIZE + DynamicHeader.SIZE;
    long batmapHeaderOffset = tableOffset + VhdLayout.batBytes(entries);
    long batmapOffset = batmapHeaderOffset + BatmapHeader.SIZE;
    long batmapBytes = VhdLayout.batmapBytes(entries);
    long end = batmapOffset + batmapBytes;
    List<ParentLocator> locators = new ArrayList<>();
    List<byte[]> data = new ArrayList<>();
    for (Locator l : paths) {
      long space = VhdLayout.roundUpToSector(l.data().length);
      locators.add(new ParentLocator(l.code(), (int) space, l.data().length, 0, end));
      data.add(l.data());
      end += space;
    }
    return new DynamicLayout(
        entries, tableOffset, batmapHeaderOffset, batmapOffset, batmapBytes, locators, data, end);
  }

  /** The batmap header for this layout (checksum computed when written). */
  public BatmapHeader batmapHeader() {
    return new BatmapHeader(
        batmapOffset, (int) (batmapBytes / VhdLayout.SECTOR), BatmapHeader.VERSION_1_2, 0, 0, null);
  }

  /** All metadata from offset 0 to {@link #end()}: footer copy, header, BAT, batmap, locators. */
  public ByteBuffer metadata(
      Footer footer, DynamicHeader header, BlockAllocationTable bat, Batmap map) {
    ByteBuffer meta = ByteBuffer.allocate((int) end);
    footer.writeTo(meta);
    header.writeTo(meta);
    meta.position((int) tableOffset);
    bat.writeTo(meta);
    batmapHeader().writeTo(meta, map.bytes());
    meta.put(map.bytes());
    for (int i = 0; i < locators.size(); i++) {
      meta.put((int) locators.get(i).dataOffset(), locatorData.get(i));
    }
    return meta.clear();
  }
}
