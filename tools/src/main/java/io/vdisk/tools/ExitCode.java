package io.vdisk.tools;

/**
 * Exit codes of {@code vdisk}, documented in README.md (Exit codes) and in {@code vdisk --help}.
 */
final class ExitCode {
  /** Success; for check: clean; for compare: identical. */
  static final int OK = 0;

  /**
   * The command ran and the answer is "no": check found errors, compare found a difference, read -P
   * mismatched.
   */
  static final int FAILED = 1;

  /** Bad command line: unknown option, bad size, missing argument. */
  static final int USAGE = 2;

  /** A file is missing, exists already, or cannot be read or written. */
  static final int IO = 3;

  /** An image is damaged: bad checksum, structure outside the file, parent missing or wrong. */
  static final int CORRUPT = 4;

  /** Valid but unsupported input: above 2040 GiB, unknown disk type, mixed block sizes. */
  static final int UNSUPPORTED = 5;

  /**
   * The SR refused: unknown or ambiguous object, in use, read-only, a lock still held after the
   * wait, a mount whose locks stay on this host.
   */
  static final int REFUSED = 6;

  /** A bug in vdisk: rerun with --stacktrace and report it. */
  static final int INTERNAL = 70;

  private ExitCode() {}
}
