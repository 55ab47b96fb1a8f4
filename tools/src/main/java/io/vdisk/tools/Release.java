package io.vdisk.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * What the release carries besides the jar, made from the command line's own model at build time so
 * it never drifts from the code: the man page {@code vdisk.1} (roff, every verb with its options,
 * positional parameters and description) and the bash completion script (picocli's {@link
 * AutoComplete}). picocli's own man page generator writes AsciiDoc, which would need Asciidoctor (a
 * JRuby runtime) in the build to become roff; this writes roff directly.
 */
public final class Release {
  private Release() {}

  /** {@code Release DIR}: writes {@code DIR/vdisk.1} and {@code DIR/vdisk.bash}. */
  public static void main(String[] args) throws IOException {
    Path dir = Files.createDirectories(Path.of(args[0]));
    CommandLine cl = Main.commandLine();
    java.nio.file.Files.writeString(dir.resolve("vdisk.1"), manPage(cl), StandardCharsets.UTF_8);
    java.nio.file.Files.writeString(
        dir.resolve("vdisk.bash"), AutoComplete.bash("vdisk", cl), StandardCharsets.UTF_8);
  }

  static String manPage(CommandLine cl) {
    StringBuilder m = new StringBuilder();
    String version = Main.Version.text();
    m.append(".TH VDISK 1 \"\" \"vdisk ").append(roff(version)).append("\" \"User Commands\"\n");
    m.append(".SH NAME\nvdisk \\- VHD images, copy-on-write chains, XenServer storage repositories")
        .append(" and their tools\n");
    m.append(".SH SYNOPSIS\n.B vdisk\n[\\fIGLOBAL OPTIONS\\fR] \\fIVERB\\fR [\\fIARGUMENTS\\fR]\n");
    m.append(".SH DESCRIPTION\n");
    for (String line : cl.getCommandSpec().usageMessage().description()) {
      m.append(roff(line)).append('\n');
    }
    m.append(".PP\nImage verbs take qemu-img's options; storage repository verbs take xe's\n")
        .append(".I key=value\narguments. Every verb answers\n.BR \\-\\-help .\n");
    m.append(".SH GLOBAL OPTIONS\n");
    options(m, cl.getCommandSpec(), false);
    m.append(".SH VERBS\n");
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) {
        continue;
      }
      CommandSpec spec = e.getValue().getCommandSpec();
      m.append(".SS ").append(roff(e.getKey())).append('\n');
      for (String line : spec.usageMessage().description()) {
        m.append(roff(line)).append('\n');
      }
      for (PositionalParamSpec p : spec.positionalParameters()) {
        m.append(".TP\n.I ").append(roff(p.paramLabel())).append('\n');
        m.append(roff(String.join(" ", p.description()))).append('\n');
      }
      options(m, spec, true);
    }
    m.append(".SH EXIT STATUS\n");
    String[][] codes = {
      {"0", "success; check: clean; compare: identical"},
      {"1", "the answer is no: check found errors, compare found a difference"},
      {"2", "usage: unknown option or key, bad size, missing argument"},
      {"3", "a file is missing, exists already, is read-only, or I/O failed"},
      {"4", "a damaged image or XVA archive"},
      {"5", "valid but unsupported input (above 2040 GiB, unknown disk type)"},
      {"6", "refused: unknown or ambiguous object, in use, read-only, a lock held after --wait"},
      {"70", "a bug in vdisk (rerun with --stacktrace and report it)"},
      {"130, 143", "stopped by SIGINT or SIGTERM; what the verb was writing is removed"}
    };
    for (String[] c : codes) {
      m.append(".TP\n.B ").append(c[0]).append('\n').append(roff(c[1])).append('\n');
    }
    m.append(".SH ENVIRONMENT\n.TP\n.B VDISK_SR\nThe SR directory when --sr is not given")
        .append(" (default ./vdisk-data).\n.TP\n.B VDISK_NO_PROGRESS\nNo progress bar on a")
        .append(" terminal.\n.TP\n.B VDISK_JAVA_OPTS\nMore options for the Java VM.\n");
    m.append(".SH SEE ALSO\n.BR qemu-img (1),\n.BR xe (1),\n.BR vhd-util (8)\n");
    return m.toString();
  }

  /** A verb's own options; the global ones (inherited) and --help are listed once, above. */
  private static void options(StringBuilder m, CommandSpec spec, boolean verb) {
    for (OptionSpec o : spec.options()) {
      if (o.hidden() || (verb && (o.inherited() || o.usageHelp() || o.versionHelp()))) {
        continue;
      }
      m.append(".TP\n.B ").append(roff(String.join(", ", o.names())));
      if (o.arity().max() > 0) {
        m.append(" \\fI").append(roff(o.paramLabel())).append("\\fR");
      }
      m.append('\n').append(roff(String.join(" ", o.description()))).append('\n');
    }
  }

  /** Text safe in roff: backslashes and hyphens escaped, no line taken for a request. */
  static String roff(String text) {
    String t = text.replace("%n", "\n").replace("\\", "\\e").replace("-", "\\-");
    StringBuilder out = new StringBuilder();
    for (String line : t.split("\n", -1)) {
      if (out.length() > 0) {
        out.append("\n.br\n");
      }
      out.append(line.startsWith(".") || line.startsWith("'") ? "\\&" + line : line);
    }
    return out.toString();
  }
}
