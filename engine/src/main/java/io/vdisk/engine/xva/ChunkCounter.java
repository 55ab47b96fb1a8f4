package io.vdisk.engine.xva;

import io.vdisk.engine.io.Printable;

/**
 * xapi's chunk counter (docs/reference/xva-format-notes.md §2.3), the one reading of chunk names
 * for the importer and the in-place mount: {@code <id>/<N>} with N a decimal counter compared as a
 * number (xapi reads it with {@code int_of_string}, so {@code 00000003} and {@code 3} are the
 * same); a gap of k omitted numbers is k all-zero chunks, each the length of the first non-empty
 * chunk of the whole archive; a zero-length chunk is a keep-alive that uses up a number and adds no
 * bytes. Every number is checked against the disk's {@code virtual_size} before any arithmetic can
 * overflow.
 */
final class ChunkCounter {
  private long firstChunkLength = -1;

  /** One disk's position in the counter. */
  final class Disk {
    private final String id;
    private final long virtualSize;
    private long offset;
    private long last = -1;

    private Disk(String id, long virtualSize) {
      this.id = id;
      this.virtualSize = virtualSize;
    }

    /** Bytes of the disk the chunks so far cover (omitted ones included). */
    long offset() {
      return offset;
    }

    boolean complete() {
      return offset >= virtualSize;
    }

    /**
     * Where the chunk {@code name} (counter {@code suffix}, {@code length} bytes) goes in the disk;
     * advances past it.
     */
    long place(String name, String suffix, long length) throws XvaException {
      long n = number(name, suffix);
      if (n <= last) {
        throw new XvaException(
            "'"
                + Printable.of(name)
                + "' comes after chunk "
                + last
                + " of "
                + id
                + ": out of order");
      }
      long gap = n - last - 1;
      if (gap > 0) {
        if (firstChunkLength <= 0) {
          throw new XvaException(
              "'" + Printable.of(name) + "': chunks omitted before any chunk was read");
        }
        if (gap > (virtualSize - offset) / firstChunkLength) {
          throw new XvaException(
              String.format(
                  "'%s': chunk number %d lies past the disk's virtual_size %d",
                  Printable.of(name), n, virtualSize));
        }
        offset += gap * firstChunkLength;
      }
      if (length % TarV7.BLOCK != 0) {
        throw new XvaException(
            "'" + Printable.of(name) + "': length " + length + " is not a multiple of 512");
      }
      if (length > virtualSize - offset) {
        throw new XvaException(
            String.format(
                "'%s': data up to byte %d is past the disk's virtual_size %d",
                Printable.of(name), offset + length, virtualSize));
      }
      if (firstChunkLength < 0 && length > 0) {
        firstChunkLength = length;
      }
      long at = offset;
      offset += length;
      last = n;
      return at;
    }
  }

  Disk disk(String id, long virtualSize) {
    return new Disk(id, virtualSize);
  }

  /**
   * The counter of a chunk name's last part, refusing what is not a number of at most 18 digits.
   */
  static long number(String name, String suffix) throws XvaException {
    if (!suffix.matches("[0-9]{1,18}")) {
      throw new XvaException(
          "'"
              + Printable.of(name)
              + "': expected a chunk number"
              + (ChunkChecksum.ofName(name) != null ? " (a checksum without its chunk)" : ""));
    }
    return Long.parseLong(suffix);
  }
}
