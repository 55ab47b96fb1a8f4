package io.vdisk.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.vdisk.engine.ForeignImage;
import io.vdisk.engine.xva.XvaFixture;
import io.vdisk.vhd.Checksum;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A seeded, structure-aware fuzzer run through the real command line (in process): VHD footers,
 * headers, parent locators, BATs, batmaps, bitmaps and truncation, single images and chains; XVA
 * tar headers, ova.xml and chunk names. For every mutated input and every verb: no stack trace, no
 * exit 70, no hang (20 s), no change to an input a read verb was given, and bounded memory (what
 * the verb's thread allocates). The seed and the mutation are in every failure message.
 * VDISK_FUZZ_RUNS raises the number of inputs per seed (CI: 60).
 */
class FuzzTest {
  private static final int RUNS =
      Integer.parseInt(System.getenv().getOrDefault("VDISK_FUZZ_RUNS", "60"));
  private static final long MAX_ALLOCATED = 512L << 20;
  private static ExecutorService worker;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    worker = Executors.newSingleThreadExecutor();
  }

  @AfterAll
  static void stop() {
    worker.shutdownNow();
  }

  /** What one run did. */
  private record Outcome(int exit, String err, long allocated) {}

  private Outcome run(String what, String... args) throws Exception {
    Future<Outcome> f =
        worker.submit(
            () -> {
              com.sun.management.ThreadMXBean mx =
                  (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
              long tid = Thread.currentThread().getId();
              long before = mx.getThreadAllocatedBytes(tid);
              StringWriter out = new StringWriter();
              StringWriter err = new StringWriter();
              var cl = Main.commandLine();
              cl.setOut(new PrintWriter(out, true));
              cl.setErr(new PrintWriter(err, true));
              int code = Main.execute(cl, args);
              return new Outcome(code, err.toString(), mx.getThreadAllocatedBytes(tid) - before);
            });
    Outcome o;
    try {
      o = f.get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      f.cancel(true);
      throw new AssertionError(what + ": hung: vdisk " + String.join(" ", args));
    }
    String cmd = what + ": vdisk " + String.join(" ", args) + "\n" + o.err();
    assertThat(o.exit()).as(cmd).isIn(0, 1, 2, 3, 4, 5, 6);
    assertThat(o.err()).as(cmd).doesNotContain("\tat ").doesNotContain("Exception in thread");
    assertThat(o.allocated()).as(cmd + " (bytes allocated)").isLessThan(MAX_ALLOCATED);
    return o;
  }

  private static String sha(Path p) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  // ---- VHD ----------------------------------------------------------------------------------

  /** Seed images: dynamic with data, a tapdisk-style one, fixed, and a chain (base + child). */
  private List<Path> vhdSeeds() throws Exception {
    List<Path> out = new ArrayList<>();
    Path dyn = dir.resolve("seed-dyn.vhd");
    Cli.run("create", "--size", "4M", dyn.toString()).ok();
    Cli.run("io", dyn.toString(), "-c", "write -P 0x11 0 64K", "-c", "write -P 0x12 3M 4K").ok();
    out.add(dyn);
    out.add(
        ForeignImage.dynamic(4L << 20, 1 << 20)
            .partialBlock(0, 1, 9, 0x21)
            .partialBlock(3, 0, 2048, 0x22)
            .writeTo(dir.resolve("seed-tap.vhd")));
    Path fixed = dir.resolve("seed-fixed.vhd");
    Cli.run("create", "--type", "fixed", "--size", "1M", fixed.toString()).ok();
    out.add(fixed);
    Path base = dir.resolve("seed-base.vhd");
    Cli.run("create", "--size", "4M", base.toString()).ok();
    Cli.run("io", base.toString(), "-c", "write -P 0x31 0 1M").ok();
    Path child = dir.resolve("seed-child.vhd");
    Cli.run("snapshot", base.toString(), child.toString()).ok();
    Cli.run("io", child.toString(), "-c", "write -P 0x32 512K 4K").ok();
    out.add(child);
    return out;
  }

  /** Mutates one structure of a VHD, fixing its checksum half of the time so parsing goes on. */
  private static String mutateVhd(byte[] f, Random r) {
    int len = f.length;
    int kind = r.nextInt(9);
    switch (kind) {
      case 0 -> { // footer copy at 0
        int at = r.nextInt(512);
        f[at] = (byte) r.nextInt(256);
        if (r.nextBoolean()) {
          fixChecksum(f, 0, 512, 64);
        }
        return "footer copy byte " + at;
      }
      case 1 -> { // trailing footer
        int at = len - 512 + r.nextInt(512);
        f[at] = (byte) r.nextInt(256);
        if (r.nextBoolean()) {
          fixChecksum(f, len - 512, 512, 64);
        }
        return "trailing footer byte " + (at - (len - 512));
      }
      case 2 -> { // a header field, checksum fixed: offsets, counts, block size, parent, locators
        int[] fields = {8, 16, 24, 28, 32, 40, 56, 576, 580, 584, 592, 600, 604, 608, 616};
        int field = fields[r.nextInt(fields.length)];
        ByteBuffer b = ByteBuffer.wrap(f);
        long v =
            switch (r.nextInt(5)) {
              case 0 -> 0;
              case 1 -> -1;
              case 2 -> r.nextLong();
              case 3 -> 1L << r.nextInt(40);
              default -> r.nextInt(1 << 20);
            };
        if (field == 8 || field == 16 || field == 40 || field == 592 || field == 616) {
          b.putLong(512 + field, v);
        } else {
          b.putInt(512 + field, (int) v);
        }
        fixChecksum(f, 512, 1024, 36);
        return "header field " + field + " = " + v;
      }
      case 3 -> { // BAT entries
        int n = 1 + r.nextInt(8);
        ByteBuffer b = ByteBuffer.wrap(f);
        for (int i = 0; i < n && 1536 + 4 * i < len; i++) {
          b.putInt(1536 + 4 * r.nextInt(Math.max(1, Math.min(64, (len - 1536) / 4))), r.nextInt());
        }
        return n + " BAT entries";
      }
      case 4 -> { // truncation
        int to = r.nextInt(len);
        Arrays.fill(f, to, len, (byte) 0);
        return "zeroed from " + to;
      }
      case 5 -> { // the batmap region and what follows the BAT
        int at = Math.min(len - 1, 2048 + r.nextInt(4096));
        f[at] ^= (byte) (1 + r.nextInt(255));
        return "byte " + at + " after the BAT";
      }
      case 6 -> { // a sector bitmap or block byte
        int at = r.nextInt(len);
        f[at] = (byte) r.nextInt(256);
        return "byte " + at;
      }
      case 7 -> { // a burst of random bytes
        int at = r.nextInt(len);
        int n = Math.min(len - at, 1 + r.nextInt(600));
        for (int i = 0; i < n; i++) {
          f[at + i] = (byte) r.nextInt(256);
        }
        return n + " random bytes at " + at;
      }
      default -> { // both footers agree on a new disk type, size or data offset
        ByteBuffer b = ByteBuffer.wrap(f);
        int field = new int[] {16, 48, 60, 84}[r.nextInt(4)];
        long v = r.nextBoolean() ? r.nextLong() : r.nextInt(8);
        for (int at : new int[] {0, len - 512}) {
          if (field == 16 || field == 48) {
            b.putLong(at + field, v);
          } else {
            b.putInt(at + field, (int) v);
          }
          fixChecksum(f, at, 512, 64);
        }
        return "both footers field " + field + " = " + v;
      }
    }
  }

  private static void fixChecksum(byte[] f, int at, int size, int field) {
    if (at < 0 || at + size > f.length) {
      return;
    }
    ByteBuffer b = ByteBuffer.wrap(f, at, size).slice();
    b.putInt(field, 0);
    b.putInt(field, Checksum.of(b, 0, size, field));
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void mutatedVhdsAndChainsNeverCrashAndReadVerbsChangeNothing(long seed) throws Exception {
    Random r = new Random(seed);
    List<Path> seeds = vhdSeeds();
    Path parent = dir.resolve("seed-base.vhd");
    for (int i = 0; i < RUNS; i++) {
      Path src = seeds.get(r.nextInt(seeds.size()));
      boolean mutateParent = src.getFileName().toString().contains("child") && r.nextBoolean();
      Path target = mutateParent ? parent : src;
      byte[] original = Files.readAllBytes(target);
      byte[] bytes = original.clone();
      String what =
          "seed " + seed + " #" + i + " " + target.getFileName() + ": " + mutateVhd(bytes, r);
      Files.write(target, bytes);
      try {
        String img = src.toString();
        String before = sha(src) + sha(parent);
        run(what, "info", img);
        run(what, "info", "--json", "-U", img);
        run(what, "check", img);
        run(what, "map", img);
        run(what, "io", "-r", img, "-c", "read 0 64K", "-c", "read 3M 8K");
        Path out = dir.resolve("out-" + i + ".raw");
        run(what, "convert", "-O", "raw", img, out.toString());
        Files.deleteIfExists(out);
        run(what, "compare", img, img);
        assertThat(sha(src) + sha(parent))
            .as(what + ": read verbs changed an input")
            .isEqualTo(before);
        // Writers on a copy: they may change it, never crash.
        Path copy = dir.resolve("copy-" + i + ".vhd");
        Files.copy(src, copy);
        run(what, "io", copy.toString(), "-c", "write -P 0x55 100K 8K", "-c", "flush");
        run(what, "check", "--repair", copy.toString());
        run(what, "resize", copy.toString(), "8M");
        Files.deleteIfExists(copy);
      } finally {
        Files.write(target, original);
      }
    }
  }

  // ---- XVA ----------------------------------------------------------------------------------

  private byte[] xvaSeed() throws Exception {
    String sr = dir.resolve("xsr").toString();
    String a =
        Cli.run("vdi-create", "--sr", sr, "name-label=a", "virtual-size=3M").ok().out().trim();
    Path raw = Files.write(dir.resolve("a.raw"), new byte[3 << 20]);
    byte[] data = Files.readAllBytes(raw);
    Arrays.fill(data, 0, 4096, (byte) 0x41);
    Arrays.fill(data, 2 << 20, (2 << 20) + 512, (byte) 0x42);
    Files.write(raw, data);
    Cli.run("vdi-import", "--sr", sr, "uuid=" + a, "filename=" + raw).ok();
    String vm = Cli.run("vm-create", "--sr", sr, "name-label=v").ok().out().trim();
    Cli.run("vbd-create", "--sr", sr, "vm-uuid=" + vm, "vdi-uuid=" + a, "device=0").ok();
    Path xva = dir.resolve("seed.xva");
    Cli.run("vm-export", "--sr", sr, "vm=v", "filename=" + xva).ok();
    return Files.readAllBytes(xva);
  }

  /** Kinds 0..4 change entries (then written as xapi would), 5 and 6 the raw tar stream. */
  private static String mutateXva(int kind, List<XvaFixture.Entry> l, byte[][] raw, Random r) {
    switch (kind) {
      case 0 -> { // ova.xml text
        XvaFixture.Entry ova = l.get(0);
        byte[] x = ova.data().clone();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
          x[r.nextInt(x.length)] = (byte) "<>/&;x0\"".charAt(r.nextInt(8));
        }
        l.set(0, new XvaFixture.Entry("ova.xml", x));
        return n + " ova.xml bytes";
      }
      case 1 -> { // ova.xml nested deep, or with a DTD
        String x = new String(l.get(0).data(), java.nio.charset.StandardCharsets.UTF_8);
        String bad =
            r.nextBoolean()
                ? "<value><array><data>".repeat(100 + r.nextInt(5000)) + x
                : "<!DOCTYPE v [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                    + x.replace("Halted", "&e;");
        l.set(
            0,
            new XvaFixture.Entry("ova.xml", bad.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return "ova.xml nesting or DTD";
      }
      case 2 -> { // chunk names
        int i = 1 + r.nextInt(l.size() - 1);
        String name = l.get(i).name();
        String[] choices = {
          "/999999999999999999", "/-1", "/00000000", "/7", "/x", "/../../etc/x", "/0000000\u001b[2J"
        };
        String renamed = name.replaceAll("/[^/]*$", choices[r.nextInt(choices.length)]);
        l.set(i, new XvaFixture.Entry(renamed, l.get(i).data()));
        return "entry " + i + " renamed " + renamed;
      }
      case 3 -> { // drop or duplicate an entry
        int i = 1 + r.nextInt(l.size() - 1);
        if (r.nextBoolean()) {
          l.remove(i);
          return "entry " + i + " dropped";
        }
        l.add(i, l.get(i));
        return "entry " + i + " doubled";
      }
      case 4 -> { // chunk data flipped (checksum then wrong)
        int i = 1 + r.nextInt(l.size() - 1);
        byte[] d = l.get(i).data().clone();
        if (d.length > 0) {
          d[r.nextInt(d.length)] ^= 1;
        }
        l.set(i, new XvaFixture.Entry(l.get(i).name(), d));
        return "entry " + i + " data flipped";
      }
      case 5 -> { // a raw byte of the tar stream (headers included)
        byte[] t = raw[0];
        int at = r.nextInt(t.length);
        t[at] = (byte) r.nextInt(256);
        return "tar byte " + at;
      }
      default -> { // truncated stream
        raw[0] = Arrays.copyOf(raw[0], r.nextInt(raw[0].length));
        return "truncated to " + raw[0].length;
      }
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {11, 12})
  void mutatedXvasNeverCrashAndNeverFillTheSr(long seed) throws Exception {
    Random r = new Random(seed);
    byte[] seedXva = xvaSeed();
    for (int i = 0; i < RUNS; i++) {
      List<XvaFixture.Entry> l = XvaFixture.entries(seedXva);
      int kind = r.nextInt(7);
      byte[][] raw = {kind >= 5 ? seedXva.clone() : null};
      String what = "seed " + seed + " #" + i + ": " + mutateXva(kind, l, raw, r);
      if (kind < 5) {
        raw[0] = XvaFixture.write(l);
      }
      Path xva = Files.write(dir.resolve("m-" + i + ".xva"), raw[0]);
      String before = sha(xva);
      run(what, "xva-list", xva.toString());
      run(what, "xva-verify", xva.toString());
      Path sr = dir.resolve("dst-" + i);
      Outcome imp = run(what, "vm-import", "--sr", sr.toString(), "filename=" + xva);
      if (imp.exit() != 0) {
        Outcome list = run(what, "vdi-list", "--sr", sr.toString(), "--minimal");
        assertThat(list.exit()).as(what).isZero();
        try (var s = Files.list(sr)) {
          assertThat(s.map(p -> p.getFileName().toString()))
              .as(what + ": a refused import leaves no file")
              .noneMatch(n -> n.endsWith(".vhd") || n.endsWith(".vdisk-tmp"));
        }
      }
      assertThat(sha(xva)).as(what).isEqualTo(before);
      Files.delete(xva);
    }
  }
}
