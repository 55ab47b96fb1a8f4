package io.vdisk.tools;

import io.vdisk.engine.sr.StorageRepository;
import io.vdisk.engine.sr.XvaTransfer;
import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.OvaArchive;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaReader;
import io.vdisk.engine.xva.XvaWriter;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** XVA verbs: xe's vm-export and vm-import, and vdisk's xva-list and xva-verify. */
final class XvaVerbs {
  private XvaVerbs() {}

  static final Class<?>[] ALL = {VmExport.class, VmImport.class, XvaList.class, XvaVerify.class};

  @Command(
      name = "vm-export",
      description = {
        "Export vm= to filename= (- for stdout) as an XVA, as xapi writes it.",
        "compress=false|true|gzip|zstd|lz4 (lz4 is vdisk's own: XenServer cannot import it);",
        "checksum=sha1 (default; every XenServer imports it) or xxhash (XenServer 8.1 and later)."
      })
  static final class VmExport extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vm", "uuid", "filename", "compress", "checksum");
    }

    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String vm = either(a, "uuid", "vm");
      String filename = required(a, "filename");
      XvaCompression compression;
      try {
        compression = XvaCompression.ofOption(a.getOrDefault("compress", "false"));
      } catch (IllegalArgumentException e) {
        throw new ErrorHandler.UsageException(e.getMessage());
      }
      ChunkChecksum checksum =
          switch (a.getOrDefault("checksum", "sha1")) {
            case "sha1" -> ChunkChecksum.SHA1;
            case "xxhash" -> ChunkChecksum.XXHASH;
            default -> throw new ErrorHandler.UsageException("checksum= must be sha1 or xxhash");
          };
      if (Stdio.isDash(filename)) {
        OutputStream out = Stdio.stdout();
        XvaTransfer.export(sr, vm, out, compression, checksum);
        out.flush();
        return ExitCode.OK;
      }
      XvaWriter.Result r =
          XvaTransfer.exportToFile(sr, vm, Path.of(filename), compression, checksum);
      err()
          .printf(
              "exported to %s: %d chunks written, %d zero chunks omitted%n",
              filename, r.chunksWritten(), r.chunksSkipped());
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vm-import",
      description = {
        "Import the XVA filename= (- for stdin; plain, gzip, zstd or lz4) into the SR.",
        "Every checksum is verified (force=true only warns). Prints the new VM's UUID;",
        "a failed import leaves nothing behind."
      })
  static final class VmImport extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("filename", "sr-uuid", "force", "preserve");
    }

    @Override
    boolean mayCreate() {
      return true;
    }

    /**
     * The archive is read without the SR lock (a stream may take hours, and its sender may pause):
     * the disks go into this process's temporary files; the lock is taken, after a check at the
     * start, only to rename them into place and write the catalog.
     */
    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      String filename = required(a, "filename");
      boolean force = bool(a, "force", false);
      if (!srNamed()) {
        StorageRepository.open(sr.dir(), true, spec.name()).close(); // lock and mount checks
      }
      XvaTransfer.Imported r;
      try (InputStream in = Stdio.input(filename);
          XvaTransfer.Staged staged = XvaTransfer.stage(sr, in, force);
          StorageRepository w = StorageRepository.open(sr.dir(), true, spec.name())) {
        r = XvaTransfer.commit(w, staged);
      }
      for (String w : r.read().warnings()) {
        err().println("vdisk: warning: " + w);
      }
      return created(r.vm());
    }
  }

  static Map<String, Object> describe(Path file, XvaReader.Result r) throws Exception {
    OvaArchive ova = r.ova();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("file", file.toString());
    m.put("compression", r.compression().name().toLowerCase(java.util.Locale.ROOT));
    m.put("tar", r.tarDialect());
    Map<String, Object> version = ova.version();
    m.put(
        "exported-by",
        version.get("product_brand")
            + " "
            + version.get("product_version")
            + " (xapi "
            + version.get("xapi_major")
            + "."
            + version.get("xapi_minor")
            + ", export_vsn "
            + version.getOrDefault("export_vsn", "0")
            + ")");
    List<Map<String, Object>> vms = new ArrayList<>();
    for (OvaArchive.Obj vm : ova.ofClass("VM")) {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("name-label", vm.snapshot().get("name_label"));
      v.put("uuid", vm.snapshot().get("uuid"));
      v.put("is-a-template", vm.snapshot().get("is_a_template"));
      v.put("VCPUs-max", vm.snapshot().get("VCPUs_max"));
      v.put("memory-static-max", vm.snapshot().get("memory_static_max"));
      vms.add(v);
    }
    m.put("vms", vms);
    List<Map<String, Object>> disks = new ArrayList<>();
    for (OvaArchive.Disk d : ova.disks()) {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("id", d.id());
      v.put("name-label", d.vdi().snapshot().get("name_label"));
      v.put("virtual-size", d.virtualSize());
      disks.add(v);
    }
    m.put("disks", disks);
    return m;
  }

  @Command(
      name = "xva-list",
      description =
          "Show an XVA's VM, disks and sizes, dialect and compression (reads ova.xml only).")
  static final class XvaList extends VdiskCommand {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Parameters(index = "0", paramLabel = "FILE", description = "The XVA archive, or - for stdin.")
    Path file;

    @Override
    public Integer call() throws Exception {
      try (InputStream in = Stdio.input(file.toString())) {
        Map<String, Object> m = describe(file, XvaReader.readMetadata(in));
        if (json) {
          printJson(m);
        } else {
          print(m);
        }
      }
      return ExitCode.OK;
    }

    void print(Map<String, Object> m) {
      print(m, out());
    }

    void print(Map<String, Object> m, java.io.PrintWriter out) {
      out.printf(
          "file: %s%ncompression: %s%ntar: %s%nexported by: %s%n",
          m.get("file"), m.get("compression"), m.get("tar"), m.get("exported-by"));
      for (Object o : (List<?>) m.get("vms")) {
        Map<?, ?> v = (Map<?, ?>) o;
        out.printf(
            "VM %s (%s)%s: %s vCPUs, %s bytes of memory%n",
            v.get("name-label"),
            v.get("uuid"),
            Boolean.TRUE.equals(v.get("is-a-template")) ? ", template" : "",
            v.get("VCPUs-max"),
            v.get("memory-static-max"));
      }
      for (Object o : (List<?>) m.get("disks")) {
        Map<?, ?> d = (Map<?, ?>) o;
        out.printf(
            "  disk %s %s: %s%n",
            d.get("id"), d.get("name-label"), Sizes.human((Long) d.get("virtual-size")));
      }
    }
  }

  @Command(
      name = "xva-verify",
      description =
          "Check an XVA's structure, ova.xml's fields and every chunk's checksum. Exit 0 when valid.")
  static final class XvaVerify extends VdiskCommand {
    @Parameters(index = "0", paramLabel = "FILE", description = "The XVA archive, or - for stdin.")
    Path file;

    @Override
    public Integer call() throws Exception {
      try (InputStream in = Stdio.input(file.toString())) {
        XvaReader.Result r = XvaReader.read(in, disk -> (offset, data) -> {}, false);
        Map<String, Object> m = describe(file, r);
        new XvaList().print(m, out());
        out()
            .printf(
                "%d chunks verified (%s)%s; %s is a valid XVA%n",
                r.chunks(),
                r.checksum() == null ? "none" : r.checksum().extension().substring(1),
                r.keepAlives() > 0 ? ", " + r.keepAlives() + " keep-alive chunks" : "",
                file);
      }
      return ExitCode.OK;
    }
  }
}
