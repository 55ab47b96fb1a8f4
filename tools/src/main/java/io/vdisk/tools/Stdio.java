package io.vdisk.tools;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Standard input and output for verbs whose {@code filename=} is {@code -}, and any non-seekable
 * input (a pipe, {@code /dev/stdin}). {@code System.out} is a {@code PrintStream}, which swallows
 * every write error; here a closed pipe or a full disk is an error, named in one line, and the verb
 * exits non-zero. When stdout is a regular file it is fsynced before the verb reports success.
 */
final class Stdio {
  private Stdio() {}

  /** True for the file name that means stdin or stdout. */
  static boolean isDash(String name) {
    return "-".equals(name);
  }

  /** stdout, unbuffered; every failure becomes "stdout: ..." (exit 3). */
  static OutputStream stdout() {
    FileOutputStream fd = new FileOutputStream(FileDescriptor.out);
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        try {
          fd.write(b, off, len);
        } catch (IOException e) {
          throw failure(e);
        }
      }

      @Override
      public void flush() throws IOException {
        try {
          fd.flush();
          if (Files.isRegularFile(Path.of("/proc/self/fd/1"))) {
            fd.getChannel().force(true); // a full or failing disk may only say so here
          }
        } catch (IOException e) {
          throw failure(e);
        }
      }
    };
  }

  static IOException failure(IOException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("Broken pipe")) {
      return new IOException(
          "stdout: the reader closed the pipe (broken pipe); the output is incomplete", e);
    }
    return new IOException("stdout: " + m + "; the output is incomplete", e);
  }

  /** The input named {@code name}: stdin for "-", else the file; read forward only. */
  static InputStream input(String name) throws IOException {
    if (isDash(name)) {
      return sequential(new FileInputStream(FileDescriptor.in));
    }
    Path p = Path.of(name);
    if (Files.isRegularFile(p)) {
      return Files.newInputStream(p);
    }
    if (Files.isDirectory(p)) {
      throw new java.nio.file.FileSystemException(name, null, "is a directory");
    }
    return sequential(new FileInputStream(p.toFile())); // a pipe, /dev/stdin, a socket
  }

  /** Skips by reading: a pipe cannot seek, and FileInputStream.skip would try. */
  private static InputStream sequential(InputStream in) {
    return new FilterInputStream(in) {
      @Override
      public long skip(long n) throws IOException {
        byte[] scratch = new byte[(int) Math.min(Math.max(n, 0), 1 << 16)];
        long done = 0;
        while (done < n) {
          int r = in.read(scratch, 0, (int) Math.min(scratch.length, n - done));
          if (r < 0) {
            break;
          }
          done += r;
        }
        return done;
      }
    };
  }
}
