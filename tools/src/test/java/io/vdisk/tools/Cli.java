package io.vdisk.tools;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs {@code vdisk} in-process and captures what it prints. */
record Cli(int exit, String out, String err) {
  static Cli run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = Main.execute(cl, args);
    return new Cli(code, out.toString(), err.toString());
  }

  Cli ok() {
    if (exit != 0) {
      throw new AssertionError("vdisk exited " + exit + ": " + err + out);
    }
    return this;
  }
}
