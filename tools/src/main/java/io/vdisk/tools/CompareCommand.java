package io.vdisk.tools;

import io.vdisk.engine.Disks;
import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "compare",
    description = {
      "Compare the guest-visible contents of two images (raw or VHD chains).",
      "Exit 0 when identical, 1 at the first difference. As with qemu-img compare, images of",
      "different sizes are identical when the larger one is all zeros past the smaller's end."
    })
final class CompareCommand extends VdiskCommand {
  private static final int CHUNK = 1 << 20;

  @Option(
      names = "-f",
      paramLabel = "FMT",
      description = "Format of A: raw or vhd (default: detected).")
  String formatA;

  @Option(
      names = "-F",
      paramLabel = "FMT",
      description = "Format of B: raw or vhd (default: detected).")
  String formatB;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Parameters(index = "0", paramLabel = "A", description = "An image (raw or a VHD chain).")
  Path a;

  @Parameters(index = "1", paramLabel = "B", description = "The image to compare it with.")
  Path b;

  @Override
  public Integer call() throws Exception {
    try (VirtualDisk da = Disks.open(a, ConvertCommand.parseFormat(formatA), share.readAccess());
        VirtualDisk db = Disks.open(b, ConvertCommand.parseFormat(formatB), share.readAccess())) {
      long common = Math.min(da.size(), db.size());
      if (da.size() != db.size()) {
        out().println("Warning: Image size mismatch!");
      }
      long diff = firstDifference(da, db, common);
      if (diff < 0) {
        VirtualDisk larger = da.size() > db.size() ? da : db;
        diff = firstNonZero(larger, common, larger.size());
      }
      if (diff >= 0) {
        out().printf("Content mismatch at offset %d!%n", diff);
        return ExitCode.FAILED;
      }
      out().println("Images are identical.");
      return ExitCode.OK;
    }
  }

  /** First differing byte offset in [0, end), or -1; ranges both know to be zero are skipped. */
  static long firstDifference(VirtualDisk x, VirtualDisk y, long end) throws java.io.IOException {
    ByteBuffer bx = ByteBuffer.allocate(CHUNK);
    ByteBuffer by = ByteBuffer.allocate(CHUNK);
    List<Extent> ex = x.extents(0, end);
    List<Extent> ey = y.extents(0, end);
    long pos = 0;
    int ix = 0;
    int iy = 0;
    while (pos < end) {
      while (ex.get(ix).end() <= pos) {
        ix++;
      }
      while (ey.get(iy).end() <= pos) {
        iy++;
      }
      long stop = Math.min(Math.min(ex.get(ix).end(), ey.get(iy).end()), pos + CHUNK);
      int n = (int) (stop - pos);
      boolean bothZero =
          ex.get(ix).kind() != Extent.Kind.DATA && ey.get(iy).kind() != Extent.Kind.DATA;
      if (!bothZero) {
        bx.clear().limit(n);
        by.clear().limit(n);
        x.read(pos, bx);
        y.read(pos, by);
        int m = Arrays.mismatch(bx.array(), 0, n, by.array(), 0, n);
        if (m >= 0) {
          return pos + m;
        }
      }
      pos = stop;
    }
    return -1;
  }

  static long firstNonZero(VirtualDisk d, long from, long to) throws java.io.IOException {
    ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    byte[] zeros = new byte[CHUNK];
    for (Extent e : d.extents(from, to)) {
      if (e.kind() != Extent.Kind.DATA) {
        continue;
      }
      for (long pos = e.offset(); pos < e.end(); pos += CHUNK) {
        int n = (int) Math.min(CHUNK, e.end() - pos);
        buf.clear().limit(n);
        d.read(pos, buf);
        int m = Arrays.mismatch(buf.array(), 0, n, zeros, 0, n);
        if (m >= 0) {
          return pos + m;
        }
      }
    }
    return -1;
  }
}
