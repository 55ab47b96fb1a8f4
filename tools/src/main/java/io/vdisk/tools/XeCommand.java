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
  /** Fields that xe marks {@code ( RW)}: the ones its param-set verbs change. */
  private static final Set<String> WRITABLE =
      Set.of(
          "name-label",
          "name-description",
          "VCPUs-max",
          "VCPUs-at-startup",
          "memory-static-max",
          "memory-dynamic-max",
          "is-a-template",
          "bootable",
          "mode",
          "userdevice");

  /** Set fields ({@code (SRO)}) and map fields ({@code (MRO)}), as xe marks them. */
  private static final Set<String> SETS = Set.of("snapshots", "vbd-uuids");

  private static final Set<String> MAPS = Set.of("sm-config");

  /** xe's marker of a field: RW or RO, S for a set, M for a map. */
  static String marker(String field) {
    if (SETS.contains(field)) {
      return " (SRO)";
    }
    if (MAPS.contains(field)) {
      return " (MRO)";
    }
    return WRITABLE.contains(field) ? " ( RW)" : " ( RO)";
  }

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

  /** Keys every verb takes: {@code params=}, {@code sr-uuid=} (checked), {@code progress=}. */
  private static final Set<String> UNIVERSAL = Set.of("params", "sr-uuid", "progress");

  private ProgressBar progress;

  @Parameters(paramLabel = "KEY=VALUE", description = "xe-style arguments.")
  List<String> args = new ArrayList<>();

  /** The keys this verb takes. */
  abstract Set<String> keys();

  /**
   * The footer of an SR verb's help, from the keys it takes (so it cannot drift from the code): its
   * own keys, the ones every verb takes, filters for lists, and the exit codes that matter.
   */
  static String[] keysHelp(XeCommand x) {
    List<String> own = new ArrayList<>();
    for (String k : new TreeSet<>(x.keys())) {
      own.add(k + "=");
    }
    List<String> lines = new ArrayList<>();
    lines.add("");
    lines.add("Keys: " + (own.isEmpty() ? "none of its own" : String.join(" ", own)) + ".");
    lines.add(
        "Every verb also takes sr-uuid= (refused unless it is this SR's), progress=true (report"
            + " progress also where stderr is no terminal; with --json as JSON lines) and"
            + (x.lists()
                ? " params=a,b|all; any other FIELD=VALUE filters the records on that field."
                : " params=.")
            + " Sizes take KiB..TiB, KB..TB (xe's, powers of 1024) or K, M, G, T.");
    lines.add(
        "Exit codes: 0 done; 2 usage (an unknown key, a bad size); 3 I/O; 6 refused (an unknown"
            + " or ambiguous object, in use, read-only, a lock still held after --wait).");
    return lines.toArray(String[]::new);
  }

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
      if (!keys().contains(key) && !UNIVERSAL.contains(key) && !lists()) {
        throw new ErrorHandler.UsageException(
            "unknown argument '" + key + "'; " + spec.name() + " takes " + new TreeSet<>(keys()));
      }
      a.put(key, arg.substring(eq + 1));
    }
    boolean forced = bool(a, "progress", false);
    a.remove("progress");
    if (a.containsKey("sr-uuid") && !StorageRepository.exists(srDir().toAbsolutePath())) {
      // an SR named by UUID must exist: never make a new one only to refuse it
      throw new io.vdisk.engine.sr.SrException(
          io.vdisk.engine.sr.SrException.Kind.NOT_FOUND,
          "no SR at " + srDir().toAbsolutePath() + " (sr-uuid=" + a.get("sr-uuid") + ")");
    }
    if (mayCreate() && srNamed() && !changes()) {
      // a verb that takes the SR lock itself, later (a streamed import): make the SR, check its
      // mount and finish what dead commands left, now
      StorageRepository.create(srDir(), spec.name()).close();
    }
    try (ProgressBar bar = new ProgressBar(err(), spec.name(), forced, json);
        StorageRepository sr =
            mayCreate() && srNamed() && changes()
                ? StorageRepository.create(srDir(), spec.name())
                : StorageRepository.open(srDir(), changes(), spec.name())) {
      progress = bar;
      sr.setProgress(bar);
      for (String w : sr.warnings()) {
        err().println("vdisk: warning: " + w);
      }
      err().flush();
      if (a.containsKey("sr-uuid")) {
        sr.requireUuid(a.get("sr-uuid"));
      }
      return run(a, sr);
    }
  }

  /**
   * The verb's progress report (a bar on a terminal; lines or JSON when {@code progress=true}),
   * which the SR's long work also reports to.
   */
  ProgressBar progress() {
    return progress;
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

  /**
   * xe's two names for one argument ({@code uuid=} or {@code vm=}): the first given, else the
   * second, required.
   */
  static String either(Map<String, String> a, String first, String second) {
    return a.containsKey(first) ? a.get(first) : required(a, second);
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
        String label = e.getKey() + marker(e.getKey());
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
