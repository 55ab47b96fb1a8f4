package io.vdisk.engine.xva;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Takes archives apart and puts them back together, to build damaged and hostile ones. */
public final class XvaFixture {
  private XvaFixture() {}

  /** One tar entry: a file, or (with {@code linkTo}) a symbolic link. */
  public record Entry(String name, byte[] data, String linkTo) {
    public Entry(String name, byte[] data) {
      this(name, data, null);
    }
  }

  public static List<Entry> entries(byte[] xva) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(xva))) {
      for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        out.add(new Entry(e.getName(), in.readAllBytes()));
      }
    }
    return out;
  }

  /** Writes entries as xapi would (V7), links as ustar symlinks through commons-compress. */
  public static byte[] write(List<Entry> entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    if (entries.stream().anyMatch(e -> e.linkTo() != null)) {
      try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
        for (Entry e : entries) {
          TarArchiveEntry t =
              e.linkTo() != null
                  ? new TarArchiveEntry(e.name(), TarArchiveEntry.LF_SYMLINK)
                  : new TarArchiveEntry(e.name());
          if (e.linkTo() != null) {
            t.setLinkName(e.linkTo());
          } else {
            t.setSize(e.data().length);
          }
          out.putArchiveEntry(t);
          if (e.linkTo() == null) {
            out.write(e.data());
          }
          out.closeArchiveEntry();
        }
      }
      return bytes.toByteArray();
    }
    TarV7 tar = new TarV7(bytes);
    for (Entry e : entries) {
      tar.file(e.name(), e.data(), 0);
    }
    tar.end();
    return bytes.toByteArray();
  }
}
