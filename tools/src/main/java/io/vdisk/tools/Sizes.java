package io.vdisk.tools;

import java.util.Locale;
import picocli.CommandLine;

/**
 * Sizes and offsets as qemu-img takes them: a number with an optional K, M, G or T suffix (powers
 * of 1024; B or none means bytes), hexadecimal with 0x, and sums and differences such as {@code
 * 1000M+512} or {@code 2M-4K}; and as xe takes them ({@code Record_util.bytes_of_string}): KiB,
 * MiB, GiB, TiB, and KB, MB, GB, TB, in any case, all powers of 1024.
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
      int digits = p.length();
      while (digits > 0 && Character.isLetter(p.charAt(digits - 1))) {
        digits--;
      }
      int shift =
          switch (p.substring(digits).toLowerCase(Locale.ROOT)) {
            case "", "b", "bytes" -> 0;
            case "k", "kb", "kib" -> 10;
            case "m", "mb", "mib" -> 20;
            case "g", "gb", "gib" -> 30;
            case "t", "tb", "tib" -> 40;
            default -> throw new NumberFormatException("suffix");
          };
      long v = Long.parseLong(p.substring(0, digits));
      if (v < 0) {
        throw new IllegalArgumentException("negative size '" + whole + "'");
      }
      return Math.multiplyExact(v, 1L << shift);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "bad size '"
              + whole
              + "': expected a number with an optional K, M, G or T suffix (or KiB, MiB, GiB,"
              + " TiB, KB, MB, GB, TB as xe takes them; all powers of 1024)");
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
