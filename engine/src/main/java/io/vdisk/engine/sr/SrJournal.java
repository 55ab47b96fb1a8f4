package io.vdisk.engine.sr;

import io.vdisk.engine.io.JournalCodec;
import io.vdisk.engine.io.Printable;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Records of multi-file operations in progress ({@link SrOp}), one small file each in {@code
 * <sr>/journal/}, written atomically before the first change and removed after the last. Records
 * are read as hostile input: one that does not decode is set aside as {@code .failed} with one
 * warning and nothing is done with it.
 */
final class SrJournal {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final StorageProvider provider;
  private final Path dir;

  SrJournal(StorageProvider provider, Path dir) {
    this.provider = provider;
    this.dir = dir;
  }

  /** One record: its file and its operation. */
  record Entry(Path file, SrOp op) {}

  Entry begin(SrOp op) throws IOException {
    Files.createDirectories(dir);
    // Names sort by creation: recovery runs the newest first, so an operation nested in another
    // (a VDI clone inside a VM clone) finishes before the one that started it looks at it.
    Path file =
        dir.resolve(
            String.format(
                "%016d-%06d-%s-%s.journal",
                System.currentTimeMillis(),
                SEQUENCE.incrementAndGet(),
                op.op(),
                UUID.randomUUID()));
    write(file, SrOp.record(op));
    return new Entry(file, op);
  }

  /** Rewrites a record whose operation learnt more (an import meeting its next disk). */
  Entry update(Entry e, SrOp op) throws IOException {
    write(e.file(), SrOp.record(op));
    return new Entry(e.file(), op);
  }

  void end(Entry e) throws IOException {
    provider.delete(e.file());
  }

  private void write(Path file, Map<String, String> values) throws IOException {
    provider.writeAtomically(file, JournalCodec.encode(values));
  }

  /** Renames a record that cannot be finished to {@code .failed}, with the reason appended. */
  void setAside(Path record, Map<String, String> values, Exception why) throws IOException {
    Path failed = record.resolveSibling(record.getFileName() + ".failed");
    Map<String, String> m = new LinkedHashMap<>(values);
    m.put("failure", String.valueOf(why.getMessage()));
    write(failed, m);
    provider.delete(record);
  }

  /** One line per record set aside: its operation and why it failed. */
  List<String> setAsideRecords() throws IOException {
    List<String> out = new ArrayList<>();
    for (Path f : list("*.failed")) {
      Map<String, String> m = read(f);
      out.add(
          f.getFileName()
              + ": "
              + Printable.of(m.getOrDefault("op", "?"))
              + " could not be finished: "
              + Printable.of(m.getOrDefault("failure", "?")));
    }
    return out;
  }

  /** Removes every record set aside; returns how many. */
  int clearSetAside() throws IOException {
    List<Path> failed = list("*.failed");
    for (Path f : failed) {
      provider.delete(f);
    }
    return failed.size();
  }

  /**
   * Every record left by an operation that did not finish, newest first; records that do not decode
   * are set aside, each with a line in {@code warnings}.
   */
  List<Entry> pending(List<String> warnings) throws IOException {
    List<Entry> out = new ArrayList<>();
    for (Path f : list("*.journal")) {
      Map<String, String> m = Map.of();
      try {
        m = read(f);
        out.add(new Entry(f, SrOp.decode(m)));
      } catch (IOException | IllegalArgumentException e) {
        warnings.add(
            "journal record "
                + f.getFileName()
                + " set aside, nothing done: "
                + Printable.of(e.getMessage()));
        setAside(f, m, e instanceof IOException io ? io : new IOException(e.getMessage()));
      }
    }
    out.sort((a, b) -> b.file().getFileName().compareTo(a.file().getFileName()));
    return out;
  }

  private List<Path> list(String glob) throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
      for (Path f : ds) {
        if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          out.add(f);
        }
      }
    }
    return out;
  }

  private static Map<String, String> read(Path f) throws IOException {
    if (Files.size(f) > JournalCodec.MAX_BYTES) {
      throw new SrOp.MalformedRecord("over " + JournalCodec.MAX_BYTES + " bytes");
    }
    return JournalCodec.decode(Files.readAllBytes(f));
  }
}
