package io.vdisk.tools;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of the {@code vdisk} command. */
@Command(
    name = "vdisk",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "VHD images, copy-on-write chains and their tools.",
    footer = {
      "",
      "Storage repository verbs (sr-*, vdi-*, vm-*, vbd-*, snapshot-*, template-list, backup,",
      "restore) take xe's key=value arguments. 'vdisk VERB --help' or 'vdisk help VERB' shows a",
      "verb's arguments; man vdisk has them all.",
      "",
      "Exit codes: 0 ok, 1 check/compare/verify failed, 2 usage, 3 file or I/O error,",
      "4 corrupt image, 5 unsupported image, 6 refused by the SR (unknown or ambiguous object,",
      "in use, read-only, locked by another process after --wait, a mount whose locks stay on",
      "this host), 70 internal error (a bug)."
    })
public final class Main implements Runnable {
  @Option(
      names = "--stacktrace",
      scope = CommandLine.ScopeType.INHERIT,
      description = "Print the stack trace of an error (for bug reports).")
  boolean stacktrace;

  /** Default wait for an SR or VDI lock another process (on any host) holds. */
  static final long DEFAULT_WAIT_SECONDS = 60;

  @Option(
      names = "--wait",
      paramLabel = "SECONDS",
      scope = CommandLine.ScopeType.INHERIT,
      description =
          "How long to wait for an SR or VDI lock another process or host holds (default "
              + DEFAULT_WAIT_SECONDS
              + "), then refuse (exit 6) naming the holder.")
  void setWait(long seconds) {
    if (seconds < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--wait: a number of seconds, 0 or more");
    }
    io.vdisk.engine.io.LockWait.setLimit(java.time.Duration.ofSeconds(seconds));
  }

  @Option(
      names = "--no-wait",
      scope = CommandLine.ScopeType.INHERIT,
      description = "Refuse at once when an SR or VDI lock is held (as --wait 0).")
  void setNoWait(boolean noWait) {
    if (noWait) {
      io.vdisk.engine.io.LockWait.setLimit(java.time.Duration.ZERO);
    }
  }

  @Option(
      names = "--single-host",
      scope = CommandLine.ScopeType.INHERIT,
      description =
          "Change an SR even where its mount keeps locks on this host only (NFS nolock or"
              + " local_lock, SMB nobrl, FUSE): say so only when no other host uses it.")
  void setSingleHost(boolean b) {
    io.vdisk.engine.io.SharedMounts.setSingleHost(b);
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  public static void main(String[] args) {
    io.vdisk.engine.io.ImageLock.preload();
    CountDownLatch done = new CountDownLatch(1);
    Thread verb = Thread.currentThread();
    boolean daemon = args.length > 0 && args[0].equals("mount");
    if (!daemon) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(verb, done), "vdisk-signal"));
    }
    // System.out swallows write errors; this writer keeps them for the check below.
    PrintWriter out =
        new PrintWriter(
            new OutputStreamWriter(
                new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8),
            true);
    CommandLine cl = commandLine(args).setOut(out);
    int code = execute(cl, args);
    out.flush();
    if (out.checkError() && code == ExitCode.OK) {
      cl.getErr().println("vdisk: stdout: write failed (a closed pipe or a full disk)");
      cl.getErr().flush();
      code = ExitCode.IO;
    }
    done.countDown();
    System.exit(code);
  }

  /**
   * On SIGINT or SIGTERM: asks the running verb to stop at its next checkpoint, so that its own
   * failure path removes what it was writing and rolls back its journal, and waits for it (the JVM
   * then exits with 130 or 143). A verb stuck reading a silent pipe is interrupted after a while.
   */
  private static void stop(Thread verb, CountDownLatch done) {
    if (done.getCount() == 0) {
      return; // a normal exit
    }
    io.vdisk.engine.io.Cancellation.request("a signal");
    try {
      if (!done.await(5, TimeUnit.SECONDS)) {
        verb.interrupt();
        done.await(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs the command line and returns the exit code; used by tests without exiting. */
  public static int run(String... args) {
    return execute(commandLine(), args);
  }

  /**
   * Runs a command; an {@code Error} (out of memory, stack exhausted) that escapes it becomes one
   * line and exit 70, not a stack trace: the verb's own cleanup ran on the way out ({@code finally}
   * blocks, journal rollback).
   */
  static int execute(CommandLine cl, String... args) {
    try {
      java.util.Set<String> names =
          cl.getCommand() instanceof Main m && m.verbNames != null
              ? m.verbNames
              : cl.getSubcommands().keySet();
      return cl.execute(verbFirst(args, names));
    } catch (OutOfMemoryError e) {
      cl.getErr()
          .println(
              "vdisk: out of memory (a bug, or give the JVM more with VDISK_JAVA_OPTS=-Xmx...);"
                  + " rerun with --stacktrace and report it");
    } catch (StackOverflowError e) {
      cl.getErr().println("vdisk: stack exhausted (a bug); rerun with --stacktrace and report it");
    }
    cl.getErr().flush();
    return ExitCode.INTERNAL;
  }

  /** Every verb's name when the command line holds only the one it runs, else null. */
  private java.util.Set<String> verbNames;

  /** The SR verbs' options that xe users and the README write before the verb. */
  private static final java.util.Set<String> BEFORE_VERB = java.util.Set.of("--json", "--minimal");

  /**
   * {@code vdisk --sr DIR vm-list} as {@code vdisk vm-list --sr DIR}: {@code --sr}, {@code --json}
   * and {@code --minimal} given before the verb move after it (the verb's own options), so either
   * order works. Anything else is left where it is.
   */
  static String[] verbFirst(String[] args, java.util.Set<String> verbs) {
    java.util.List<String> kept = new java.util.ArrayList<>();
    java.util.List<String> moved = new java.util.ArrayList<>();
    int i = 0;
    for (; i < args.length && !verbs.contains(args[i]); i++) {
      if (args[i].equals("--sr") && i + 1 < args.length) {
        moved.add(args[i]);
        moved.add(args[++i]);
      } else if (args[i].startsWith("--sr=") || BEFORE_VERB.contains(args[i])) {
        moved.add(args[i]);
      } else {
        kept.add(args[i]);
      }
    }
    if (moved.isEmpty() || i == args.length) {
      return args; // nothing to move, or no verb: picocli says what is wrong
    }
    kept.add(args[i]);
    kept.addAll(moved);
    kept.addAll(java.util.Arrays.asList(args).subList(i + 1, args.length));
    return kept.toArray(new String[0]);
  }

  /** The image verbs, then the SR verbs' groups: the order of the top-level help. */
  private static final Class<?>[] IMAGE_VERBS = {
    CreateCommand.class,
    SnapshotCommand.class,
    InfoCommand.class,
    CheckCommand.class,
    ConvertCommand.class,
    CoalesceCommand.class,
    CommitCommand.class,
    RebaseCommand.class,
    ResizeCommand.class,
    IoCommand.class,
    MapCommand.class,
    CompareCommand.class,
    MountCommand.class,
    UmountCommand.class,
    ServeCommand.class,
    DemoCommand.class,
    CommandLine.HelpCommand.class
  };

  private static final Class<?>[][] GROUPS = {
    IMAGE_VERBS,
    SrVerbs.ALL,
    RecordVerbs.ALL,
    CbtVerbs.ALL,
    VmVerbs.ALL,
    XvaVerbs.ALL,
    BackupVerbs.ALL
  };

  /** Every verb's class by its name, from the annotations alone (no command model built). */
  static java.util.Map<String, Class<?>> verbs() {
    java.util.Map<String, Class<?>> m = new java.util.LinkedHashMap<>();
    for (Class<?>[] group : GROUPS) {
      for (Class<?> c : group) {
        m.put(c.getAnnotation(Command.class).name(), c);
      }
    }
    return m;
  }

  /** The command line with every verb (help, tests, the man page). */
  static CommandLine commandLine() {
    return commandLine(verbs().values());
  }

  /**
   * The command line for {@code args}: with only the verb they name when they name one (building
   * picocli's model of some 70 verbs costs a fifth of a second of every start), with none for a
   * bare {@code --version}, else with every verb (help lists them; a mistyped verb gets picocli's
   * suggestion).
   */
  static CommandLine commandLine(String[] args) {
    java.util.Map<String, Class<?>> all = verbs();
    if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
      return commandLine(java.util.List.of());
    }
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--sr") || a.equals("--wait")) {
        i++; // its value, which may be any word
        continue;
      }
      Class<?> c = all.get(a);
      if (c == CommandLine.HelpCommand.class) {
        break; // help VERB needs the verbs
      }
      if (c != null) {
        return commandLine(java.util.List.of(c), all.keySet());
      }
    }
    return commandLine(all.values());
  }

  private static CommandLine commandLine(java.util.Collection<Class<?>> verbs) {
    return commandLine(verbs, null);
  }

  private static CommandLine commandLine(
      java.util.Collection<Class<?>> verbs, java.util.Set<String> allNames) {
    Main main = new Main();
    main.verbNames = allNames;
    CommandLine cl = new CommandLine(main);
    io.vdisk.engine.io.LockWait.setLimit(java.time.Duration.ofSeconds(DEFAULT_WAIT_SECONDS));
    io.vdisk.engine.io.SharedMounts.setSingleHost(false);
    io.vdisk.engine.io.LockWait.onWait(
        m -> {
          cl.getErr().println("vdisk: " + m);
          cl.getErr().flush();
        });
    for (Class<?> verb : verbs) {
      cl.addSubcommand(verb);
    }
    // Every verb takes --help (and -h), as every qemu-img and xe user tries first.
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (!sub.getCommandSpec().mixinStandardHelpOptions()) {
        sub.getCommandSpec().mixinStandardHelpOptions(true);
      }
      if (sub.getCommandSpec().userObject() instanceof XeCommand x) {
        sub.getCommandSpec().usageMessage().footer(XeCommand.keysHelp(x));
      }
    }
    cl.setExecutionExceptionHandler(new ErrorHandler());
    cl.setParameterExceptionHandler(
        (ex, a) -> {
          ex.getCommandLine().getErr().println("vdisk: " + ex.getMessage());
          CommandLine c = ex.getCommandLine();
          String name = c.getParent() == null ? "" : c.getCommandName() + " ";
          c.getErr().println("Try 'vdisk " + name + "--help'.");
          return ExitCode.USAGE;
        });
    return cl;
  }

  static boolean stackTraces(CommandLine.ParseResult parseResult) {
    for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--stacktrace")) {
        return true;
      }
    }
    return false;
  }

  /** The POM's version and the commit the jar was built from, as the build recorded them. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"vdisk " + text()};
    }

    /** {@code 0.1.0 (commit 1a2b3c4)}; "dev" parts where the build recorded nothing. */
    static String text() {
      java.util.Properties p = new java.util.Properties();
      try (java.io.InputStream in = Main.class.getResourceAsStream("vdisk.properties")) {
        if (in != null) {
          p.load(in);
        }
      } catch (java.io.IOException e) {
        // no version recorded: a build from an IDE
      }
      String version = recorded(p, "version");
      String commit = null;
      try (java.io.InputStream in = Main.class.getResourceAsStream("commit.txt")) {
        if (in != null) {
          String c =
              new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
          commit = c.matches("[0-9a-f]{7,40}") ? c : null;
        }
      } catch (java.io.IOException e) {
        // no commit recorded: built outside a git checkout
      }
      return (version == null ? "dev" : version)
          + (commit == null ? "" : " (commit " + commit + ")");
    }

    private static String recorded(java.util.Properties p, String key) {
      String v = p.getProperty(key);
      return v == null || v.isBlank() || v.startsWith("${") ? null : v.trim();
    }
  }
}
