package io.vdisk.engine.io;

/**
 * Text from files (entry names, labels, command lines) made safe to print on a terminal: control
 * characters, escape sequences included, become {@code \xNN} or {@code \\uNNNN}.
 */
public final class Printable {
  private Printable() {}

  public static String of(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean bad =
          c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == '\u2028' || c == '\u2029';
      if (bad && sb == null) {
        sb = new StringBuilder(s.length() + 8).append(s, 0, i);
      }
      if (sb != null) {
        if (bad) {
          sb.append(
              c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
    }
    return sb == null ? s : sb.toString();
  }
}
