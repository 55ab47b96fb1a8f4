package io.vdisk.engine;

/** One result of {@link ImageChecker}: how bad, what and where, and whether --repair fixes it. */
public record Finding(Severity severity, String message, boolean repairable) {
  public enum Severity {
    ERROR,
    WARNING
  }

  static Finding error(String message) {
    return new Finding(Severity.ERROR, message, false);
  }

  static Finding repairable(String message) {
    return new Finding(Severity.ERROR, message, true);
  }

  static Finding warning(String message) {
    return new Finding(Severity.WARNING, message, false);
  }
}
