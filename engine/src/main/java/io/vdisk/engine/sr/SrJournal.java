package io.vdisk.engine.sr;

import io.vdisk.engine.StorageProvider;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

/**
 * Records of multi-file operations in progress, one small file each in {@code <sr>/journal/}. A
 * record holds everything the operation needs, new UUIDs included, so that running it again from
 * the record finishes it: every step checks what is already done. Written atomically before the
 * first change, removed after the last.
 */
final class SrJournal {
  private static final java.util.concurrent.atomic.AtomicInteger SEQUENCE =
      new java.util.concurrent.atomic.AtomicInteger();

  private final StorageProvider provider;
  private final Path dir;

  SrJournal(StorageProvider provider, Path dir) {
    this.provider = provider;
    this.dir = dir;
  }

  /** One record: an operation name and its parameters. */
  record Entry(Path file, Properties values) {
    String get(String key) {
      return values.getProperty(key);
    }

    String op() {
      return get("op");
    }
  }

  Entry begin(String op, String... keyValues) throws IOException {
    Files.createDirectories(dir);
    Properties p = new Properties();
    p.setProperty("op", op);
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      if (keyValues[i + 1] != null) {
        p.setProperty(keyValues[i], keyValues[i + 1]);
      }
    }
    // Names sort by creation: recovery runs the newest first, so an operation nested in another
    // (a VDI clone inside a VM clone) finishes before the one that started it looks at it.
    Path file =
        dir.resolve(
            String.format(
                "%016d-%06d-%s-%s.journal",
                System.currentTimeMillis(), SEQUENCE.incrementAndGet(), op, UUID.randomUUID()));
    StringWriter w = new StringWriter();
    p.store(w, null);
    provider.writeAtomically(file, w.toString().getBytes(StandardCharsets.UTF_8));
    return new Entry(file, p);
  }

  /** Adds a key to a record (rewritten atomically), for work whose names appear as it runs. */
  void note(Entry e, String key, String value) throws IOException {
    e.values().setProperty(key, value);
    StringWriter w = new StringWriter();
    e.values().store(w, null);
    provider.writeAtomically(e.file(), w.toString().getBytes(StandardCharsets.UTF_8));
  }

  void end(Entry e) throws IOException {
    provider.delete(e.file());
  }

  /** Renames a record that cannot be finished to {@code .failed}, with the reason appended. */
  void setAside(Entry e, Exception why) throws IOException {
    Path failed = e.file().resolveSibling(e.file().getFileName() + ".failed");
    StringWriter w = new StringWriter();
    Properties p = new Properties();
    p.putAll(e.values());
    p.setProperty("failure", String.valueOf(why.getMessage()));
    p.store(w, null);
    provider.writeAtomically(failed, w.toString().getBytes(StandardCharsets.UTF_8));
    provider.delete(e.file());
  }

  /** One line per record set aside: its operation and why it failed. */
  List<String> setAsideRecords() throws IOException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.failed")) {
      for (Path f : ds) {
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
        out.add(
            f.getFileName()
                + ": "
                + p.getProperty("op")
                + " could not be finished: "
                + p.getProperty("failure"));
      }
    }
    return out;
  }

  /** Every record left by an operation that did not finish, newest first. */
  List<Entry> pending() throws IOException {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.journal")) {
      for (Path f : ds) {
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
        out.add(new Entry(f, p));
      }
    }
    out.sort((a, b) -> b.file().getFileName().compareTo(a.file().getFileName()));
    return out;
  }
}
