package io.vdisk.tools;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs {@code vdisk} in-process and captures what it prints; or names it for a JVM of its own. */
record Cli(int exit, String out, String err) {
  /** The built jar, for {@code vdisk} in a JVM of its own (daemons, processes killed or paused). */
  static String jar() {
    return java.nio.file.Path.of("target/vdisk-all.jar").toAbsolutePath().toString();
  }

  /** The command line of {@code vdisk ARGS} in a JVM of its own. */
  static String[] ownJvm(String... args) {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "java";
    cmd[1] = "-jar";
    cmd[2] = jar();
    System.arraycopy(args, 0, cmd, 3, args.length);
    return cmd;
  }

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
