package io.vdisk.tools;

import io.vdisk.vhd.CorruptImageException;
import io.vdisk.vhd.UnsupportedImageException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * The one place where exceptions become a one-line message on stderr and an exit code. The stack
 * trace is printed only with {@code --stacktrace}, or for bugs (exit 70) as a hint.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(
      Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
    PrintWriter err = cmd.getErr();
    int code = exitCode(ex);
    err.println("vdisk: " + message(ex));
    if (Main.stackTraces(parseResult)) {
      ex.printStackTrace(err);
    } else if (code == ExitCode.INTERNAL) {
      err.println("vdisk: this is a bug; rerun with --stacktrace and report it");
    }
    err.flush();
    return code;
  }

  static int exitCode(Throwable ex) {
    if (ex instanceof UsageException) {
      return ExitCode.USAGE;
    }
    if (ex instanceof io.vdisk.engine.sr.SrException
        || ex instanceof io.vdisk.engine.io.ImageRefusedException) {
      return ExitCode.REFUSED;
    }
    if (ex instanceof CorruptImageException || ex instanceof io.vdisk.engine.xva.XvaException) {
      return ExitCode.CORRUPT;
    }
    if (ex instanceof UnsupportedImageException) {
      return ExitCode.UNSUPPORTED;
    }
    if (ex instanceof IOException || ex instanceof java.io.UncheckedIOException) {
      return ExitCode.IO;
    }
    return ExitCode.INTERNAL;
  }

  static String message(Throwable ex) {
    if (ex instanceof NoSuchFileException e) {
      return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : "no such file");
    }
    if (ex instanceof FileAlreadyExistsException e) {
      return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : "already exists");
    }
    if (ex instanceof AccessDeniedException e) {
      return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : "permission denied");
    }
    if (ex instanceof FileSystemException e) {
      return e.getMessage();
    }
    String m = ex.getMessage();
    if (m == null || m.isBlank()) {
      return ex.getClass().getSimpleName();
    }
    return m.replace('\n', ' ');
  }

  /** A wrong use of the command that picocli's own parsing cannot see. */
  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
