package io.vdisk.engine.io;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The one format of vdisk's journal records (the SR's {@code journal/} and coalesce's): {@code
 * key=value} lines as {@link Properties} writes them, keys sorted, UTF-8, at most 1 MiB. Decoding
 * refuses what is not text; what the keys mean is checked by the record's own decoder.
 */
public final class JournalCodec {
  public static final int MAX_BYTES = 1 << 20;

  private JournalCodec() {}

  public static byte[] encode(Map<String, String> values) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : new TreeMap<>(values).entrySet()) {
      Properties one = new Properties();
      one.setProperty(e.getKey(), e.getValue());
      StringWriter w = new StringWriter();
      try {
        one.store(w, null);
      } catch (IOException impossible) {
        throw new IllegalStateException(impossible);
      }
      // store() writes a date comment first: keep the key=value line only
      for (String line : w.toString().split("\n", -1)) {
        if (!line.startsWith("#")) {
          sb.append(line).append('\n');
        }
      }
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The record's keys and values; a record that is not UTF-8 text, or too long, is refused. */
  public static Map<String, String> decode(byte[] bytes) throws IOException {
    if (bytes.length > MAX_BYTES) {
      throw new IOException("journal record of " + bytes.length + " bytes is over " + MAX_BYTES);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new IOException("journal record is not UTF-8 text");
    }
    Properties p = new Properties();
    try {
      p.load(new StringReader(text));
    } catch (IllegalArgumentException e) {
      throw new IOException("journal record: " + e.getMessage());
    }
    Map<String, String> m = new LinkedHashMap<>();
    for (String k : new java.util.TreeSet<>(p.stringPropertyNames())) {
      m.put(k, p.getProperty(k));
    }
    return m;
  }
}
