package io.vdisk.tools;

import io.vdisk.engine.sr.StorageRepository;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * What the storage-repository verbs share, shaped like {@code xe}: {@code key=value} arguments, the
 * new object's UUID printed alone on stdout, lists as xe prints them, {@code --json}, {@code
 * --minimal} (comma-separated UUIDs) and {@code params=} to choose the fields.
 */
abstract class XeCommand extends VdiskCommand {
  /** Fields that xe marks RW: the ones the param-set verbs change. */
  private static final Set<String> WRITABLE =
      Set.of(
          "name-label",
          "name-description",
          "read-only",
          "VCPUs-max",
          "memory-static-max",
          "is-a-template");

  @Option(
      names = "--sr",
      paramLabel = "DIR",
      description =
          "The SR directory (default: $VDISK_SR, else ./vdisk-data). Only sr-create, and"
              + " vdi-create or vm-import given --sr or $VDISK_SR, make a new SR.")
  Path srOption;

  @Option(names = "--json", description = "Print lists as JSON.")
  boolean json;

  @Option(names = "--minimal", description = "Print lists as comma-separated UUIDs.")
  boolean minimal;

  @Parameters(paramLabel = "KEY=VALUE", description = "xe-style arguments.")
  List<String> args = new ArrayList<>();

  /** The keys this verb takes. */
  abstract Set<String> keys();

  /** True when the verb changes the SR (exclusive lock, recovery first). */
  boolean changes() {
    return true;
  }

  /**
   * True when the verb may make the SR it is pointed at: only when the SR was named explicitly
   * ({@code --sr} or {@code $VDISK_SR}), so that a mistyped default never becomes a new empty SR.
   */
  boolean mayCreate() {
    return false;
  }

  /** True when the SR directory was named by --sr or $VDISK_SR rather than defaulted. */
  boolean srNamed() {
    String env = System.getenv("VDISK_SR");
    return srOption != null || (env != null && !env.isBlank());
  }

  abstract int run(Map<String, String> a, StorageRepository sr) throws Exception;

  @Override
  public Integer call() throws Exception {
    Map<String, String> a = new LinkedHashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new ErrorHandler.UsageException("expected key=value, got '" + arg + "'");
      }
      String key = arg.substring(0, eq);
      if (!keys().contains(key) && !key.equals("params")) {
        throw new ErrorHandler.UsageException(
            "unknown argument '" + key + "'; " + spec.name() + " takes " + new TreeSet<>(keys()));
      }
      a.put(key, arg.substring(eq + 1));
    }
    try (StorageRepository sr =
        mayCreate() && srNamed()
            ? StorageRepository.create(srDir(), spec.name())
            : StorageRepository.open(srDir(), changes(), spec.name())) {
      for (String w : sr.warnings()) {
        err().println("vdisk: warning: " + w);
      }
      err().flush();
      return run(a, sr);
    }
  }

  Path srDir() {
    if (srOption != null) {
      return srOption;
    }
    String env = System.getenv("VDISK_SR");
    return Path.of(env != null && !env.isBlank() ? env : "vdisk-data");
  }

  static String required(Map<String, String> a, String key) {
    String v = a.get(key);
    if (v == null || v.isEmpty()) {
      throw new ErrorHandler.UsageException("missing argument " + key + "=");
    }
    return v;
  }

  static long size(Map<String, String> a, String key) {
    try {
      return Sizes.parse(required(a, key));
    } catch (IllegalArgumentException e) {
      throw new ErrorHandler.UsageException(key + "=: " + e.getMessage());
    }
  }

  static boolean bool(Map<String, String> a, String key, boolean dflt) {
    String v = a.get(key);
    if (v == null) {
      return dflt;
    }
    if (!v.equals("true") && !v.equals("false")) {
      throw new ErrorHandler.UsageException(key + "= must be true or false, not '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  int created(String uuid) {
    out().println(uuid);
    return ExitCode.OK;
  }

  /**
   * Prints records as xe does (uuid first, then {@code name ( RO): value} lines, a blank line
   * between records), or JSON, or UUIDs only. {@code params=} picks fields, {@code all} every
   * field; by default the fields in {@code defaults}.
   */
  int printRecords(
      Map<String, String> a, List<Map<String, Object>> records, List<String> defaults) {
    if (minimal) {
      out()
          .println(
              String.join(",", records.stream().map(r -> String.valueOf(r.get("uuid"))).toList()));
      return ExitCode.OK;
    }
    String params = a.get("params");
    List<String> fields =
        params == null ? defaults : params.equals("all") ? null : List.of(params.split(","));
    List<Map<String, Object>> shown = new ArrayList<>();
    for (Map<String, Object> r : records) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : r.entrySet()) {
        if (fields == null || fields.contains(e.getKey())) {
          m.put(e.getKey(), e.getValue());
        }
      }
      shown.add(m);
    }
    if (json) {
      printJson(shown);
      return ExitCode.OK;
    }
    int width = 4;
    for (Map<String, Object> m : shown) {
      for (String k : m.keySet()) {
        width = Math.max(width, k.length() + 5);
      }
    }
    for (Map<String, Object> m : shown) {
      boolean first = true;
      for (Map.Entry<String, Object> e : m.entrySet()) {
        String label = e.getKey() + (WRITABLE.contains(e.getKey()) ? " ( RW)" : " ( RO)");
        String value = e.getValue() == null ? "<not in database>" : e.getValue().toString();
        if (first) {
          out().printf("%-" + (width + 1) + "s: %s%n", label, value);
          first = false;
        } else {
          out().printf("%" + (width + 1) + "s: %s%n", label, value);
        }
      }
      out().println();
    }
    return ExitCode.OK;
  }
}
