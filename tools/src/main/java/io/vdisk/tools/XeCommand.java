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
 * new object's UUID printed alone on stdout, lists as xe prints them and filtered on any field
 * ({@code name-label=web1}), {@code --json}, {@code --minimal} (the first selected field, uuid by
 * default, comma-separated) and {@code params=} to choose the fields.
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

  @Option(
      names = "--minimal",
      description = "Print lists as the first selected field (uuid by default), comma-separated.")
  boolean minimal;

  @Parameters(paramLabel = "KEY=VALUE", description = "xe-style arguments.")
  List<String> args = new ArrayList<>();

  /** The keys this verb takes. */
  abstract Set<String> keys();

  /**
   * True for list verbs: any other {@code key=value} filters the records on that field, as xe's
   * {@code filter_records_on_fields} does (a field no record has is refused).
   */
  boolean lists() {
    return false;
  }

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
      if (!keys().contains(key) && !key.equals("params") && !lists()) {
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
  int printRecords(Map<String, String> a, List<Map<String, Object>> all, List<String> defaults) {
    List<Map<String, Object>> records = filtered(a, all, defaults);
    String params = a.get("params");
    List<String> fields =
        params == null ? defaults : params.equals("all") ? null : List.of(params.split(",", -1));
    if (minimal) {
      // xe prints the first selected field (uuid by default), commas in values escaped
      String first = fields == null || fields.isEmpty() ? "uuid" : fields.get(0);
      out()
          .println(
              String.join(
                  ",",
                  records.stream()
                      .map(r -> text(r.get(first)).replace("\\", "\\\\").replace(",", "\\,"))
                      .toList()));
      return ExitCode.OK;
    }
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
        String value = e.getValue() == null ? "<not in database>" : text(e.getValue());
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

  private static String text(Object value) {
    return value == null ? "" : value.toString();
  }

  /**
   * The records whose fields match every filter ({@code key=value} not among the verb's own keys):
   * the field's printed value equals the value. A field that neither the records nor the default
   * fields have is refused, naming the fields there are.
   */
  private List<Map<String, Object>> filtered(
      Map<String, String> a, List<Map<String, Object>> records, List<String> defaults) {
    Map<String, String> filters = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : a.entrySet()) {
      if (lists() && !keys().contains(e.getKey()) && !e.getKey().equals("params")) {
        filters.put(e.getKey(), e.getValue());
      }
    }
    if (filters.isEmpty()) {
      return records;
    }
    Set<String> known = new TreeSet<>(defaults);
    records.forEach(r -> known.addAll(r.keySet()));
    for (String f : filters.keySet()) {
      if (!known.contains(f)) {
        throw new ErrorHandler.UsageException(
            "unknown field '" + f + "' to filter on; " + spec.name() + " has " + known);
      }
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r : records) {
      boolean match = true;
      for (Map.Entry<String, String> f : filters.entrySet()) {
        match &= text(r.get(f.getKey())).equals(f.getValue());
      }
      if (match) {
        out.add(r);
      }
    }
    return out;
  }
}
