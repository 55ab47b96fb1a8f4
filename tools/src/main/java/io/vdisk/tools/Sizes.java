package io.vdisk.tools;

import java.util.Locale;
import picocli.CommandLine;

/**
 * Sizes and offsets as qemu-img takes them: a number with an optional K, M, G or T suffix (powers
 * of 1024; B or none means bytes), hexadecimal with 0x, and sums and differences such as {@code
 * 1000M+512} or {@code 2M-4K}.
 */
final class Sizes implements CommandLine.ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    return parse(value);
  }

  static long parse(String text) {
    String t = text.trim();
    if (t.isEmpty()) {
      throw new IllegalArgumentException("empty size");
    }
    long total = 0;
    int sign = 1;
    int start = 0;
    for (int i = 0; i <= t.length(); i++) {
      if (i == t.length() || (i > start && (t.charAt(i) == '+' || t.charAt(i) == '-'))) {
        long v = parseOne(t.substring(start, i).trim(), text);
        total = sign > 0 ? Math.addExact(total, v) : Math.subtractExact(total, v);
        if (i < t.length()) {
          sign = t.charAt(i) == '+' ? 1 : -1;
        }
        start = i + 1;
      }
    }
    if (total < 0) {
      throw new IllegalArgumentException("negative size '" + text + "'");
    }
    return total;
  }

  private static long parseOne(String p, String whole) {
    if (p.isEmpty()) {
      throw new IllegalArgumentException("bad size '" + whole + "'");
    }
    try {
      if (p.startsWith("0x") || p.startsWith("0X")) {
        return Long.parseLong(p.substring(2), 16);
      }
      char last = Character.toUpperCase(p.charAt(p.length() - 1));
      int shift =
          switch (last) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            case 'B' -> 0;
            default -> -1;
          };
      String num = shift >= 0 ? p.substring(0, p.length() - 1) : p;
      long v = Long.parseLong(num);
      if (v < 0) {
        throw new IllegalArgumentException("negative size '" + whole + "'");
      }
      return Math.multiplyExact(v, 1L << Math.max(shift, 0));
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "bad size '" + whole + "': expected a number with an optional K, M, G or T suffix");
    }
  }

  static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
