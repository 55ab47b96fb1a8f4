package io.vdisk.engine.sr;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.image.VhdCreator;
import io.vdisk.engine.io.Publisher;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.TempFiles;
import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.OvaArchive;
import io.vdisk.engine.xva.XapiRecords;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaException;
import io.vdisk.engine.xva.XvaReader;
import io.vdisk.engine.xva.XvaWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * vm-export and vm-import between an SR and XVA archives. Export writes full xapi records (every
 * field without a default, and the ones older XenServers insisted on) for the VM, its VBDs, VDIs
 * and the SR, ids {@code Ref:100…} (fixed width, so string order is numeric order). Import streams
 * each disk into a new sparse VHD under a temporary name, then renames them and creates the VM,
 * VBDs and VDIs in one catalog transaction; a failure removes everything it made.
 */
public final class XvaTransfer {
  private XvaTransfer() {}

  /**
   * Exports to a new file, which appears whole or not at all ({@link Publisher}: written under a
   * temporary name, fsynced, renamed, the directory fsynced).
   */
  public static XvaWriter.Result exportToFile(
      StorageRepository sr,
      String vmRef,
      java.nio.file.Path target,
      XvaCompression compression,
      ChunkChecksum checksum)
      throws IOException {
    StorageProvider p = sr.provider();
    return Publisher.publish(
        p,
        target,
        "export",
        false,
        tmp -> {
          try (io.vdisk.engine.io.Storage s = p.create(tmp);
              OutputStream out = io.vdisk.engine.io.Storages.outputStream(s)) {
            XvaWriter.Result r = export(sr, vmRef, out, compression, checksum);
            out.flush();
            s.force();
            return r;
          }
        });
  }

  public static XvaWriter.Result export(
      StorageRepository sr,
      String vmRef,
      OutputStream out,
      XvaCompression compression,
      ChunkChecksum checksum)
      throws IOException {
    Catalog.Vm vm = Vms.resolve(sr, vmRef);
    List<Catalog.Vbd> vbds =
        sr.catalog().vbds().stream().filter(b -> b.vm().equals(vm.uuid())).toList();
    int next = 100;
    String vmId = "Ref:" + next++;
    String srId = "Ref:" + next++;
    List<OvaArchive.Obj> objects = new ArrayList<>();
    List<String> vbdIds = new ArrayList<>();
    List<String> vdiIds = new ArrayList<>();
    Map<String, VirtualDisk> disks = new LinkedHashMap<>();
    List<VirtualDisk> opened = new ArrayList<>();
    long allocation = 0;
    try {
      for (Catalog.Vbd b : vbds) {
        String vbdId = "Ref:" + next++;
        String vdiId = "Ref:" + next++;
        vbdIds.add(vbdId);
        vdiIds.add(vdiId);
        Catalog.Vdi v = sr.record(b.vdi());
        VirtualDisk d = sr.openVdi(b.vdi(), true, "vm-export");
        opened.add(d);
        disks.put(vdiId, d);
        allocation += d.size();
        objects.add(
            new OvaArchive.Obj(
                "VBD",
                vbdId,
                XapiRecords.vbd(b.uuid(), vmId, vdiId, b.device(), b.bootable(), b.mode())));
        objects.add(
            new OvaArchive.Obj(
                "VDI",
                vdiId,
                XapiRecords.vdi(
                    v.uuid(),
                    v.name(),
                    v.description(),
                    srId,
                    vbdId,
                    d.size(),
                    Files.size(sr.file(b.vdi())))));
      }
      objects.add(
          0,
          new OvaArchive.Obj(
              "VM",
              vmId,
              XapiRecords.vm(
                  vm.uuid(),
                  vm.name(),
                  vm.description(),
                  vm.template(),
                  vm.memory(),
                  vm.vcpus(),
                  vbdIds)));
      objects.add(new OvaArchive.Obj("SR", srId, XapiRecords.sr(vdiIds, allocation)));
      OvaArchive ova = new OvaArchive(XapiRecords.version(), objects);
      return XvaWriter.write(ova, disks, out, compression, checksum, Instant.now(), sr.progress());
    } finally {
      for (VirtualDisk d : opened) {
        d.close();
      }
    }
  }

  /** What vm-import made. */
  public record Imported(String vm, List<String> vdis, XvaReader.Result read) {}

  /** Imports an archive into the SR; prints nothing, leaves nothing behind on failure. */
  public static Imported importVm(StorageRepository sr, InputStream in, boolean force)
      throws IOException {
    sr.requireWritable();
    try (Staged staged = stage(sr, in, force)) {
      return commit(sr, staged);
    }
  }

  /**
   * An archive's disks, read and verified, in temporary files of the SR (named for this process, so
   * another command's sweep leaves them while it lives and removes them once it is gone), not yet
   * in the catalog. Closing it removes the files that {@link #commit} did not take.
   */
  public static final class Staged implements java.io.Closeable {
    private final StorageRepository sr;
    private final List<String> made = new ArrayList<>();
    private final Map<String, String> vdiByRef = new LinkedHashMap<>();
    private XvaReader.Result read;
    private boolean taken;

    private Staged(StorageRepository sr) {
      this.sr = sr;
    }

    @Override
    public void close() throws IOException {
      if (!taken) {
        for (String uuid : made) {
          sr.provider().delete(tmp(sr, uuid));
        }
      }
    }
  }

  /**
   * Reads the archive into temporary files of {@code sr}'s directory. It needs no SR lock (so a
   * streamed import does not hold the SR while it waits for its input): nothing it writes is a VDI
   * until {@link #commit}, which takes the lock for the moves and the catalog transaction.
   */
  public static Staged stage(StorageRepository sr, InputStream in, boolean force)
      throws IOException {
    StorageProvider p = sr.provider();
    Staged staged = new Staged(sr);
    List<DiskChain> open = new ArrayList<>();
    try {
      staged.read =
          XvaReader.read(
              in,
              disk -> {
                String uuid = UUID.randomUUID().toString();
                staged.made.add(uuid);
                staged.vdiByRef.put(disk.id(), uuid);
                VhdCreator.createDynamic(
                    p, tmp(sr, uuid), VhdCreator.Spec.dynamic(disk.virtualSize()));
                DiskChain c =
                    DiskChain.open(
                        tmp(sr, uuid),
                        StorageProvider.Access.WRITE,
                        p,
                        sr.dir(),
                        WriteRule.Grant.NEW_IMAGE);
                open.add(c);
                return (offset, data) -> c.write(offset, data);
              },
              force,
              sr.progress());
      for (DiskChain c : open) {
        c.close();
      }
      open.clear();
      return staged;
    } catch (IOException | RuntimeException | Error e) {
      // Errors too (a StackOverflowError from a hostile ova.xml): nothing half-imported stays.
      for (DiskChain c : open) {
        try {
          c.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      try {
        staged.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Makes a staged import the SR's, journaled: its files renamed into place, then the VM, VBDs and
   * VDIs in one catalog transaction; cut before that transaction, the record undoes it.
   */
  public static Imported commit(StorageRepository sr, Staged staged) throws IOException {
    sr.requireWritable();
    StorageProvider p = sr.provider();
    List<String> made = staged.made;
    Map<String, String> vdiByRef = staged.vdiByRef;
    XvaReader.Result r = staged.read;
    SrJournal.Entry[] journal = {sr.begin(new SrOp.XvaImport(List.copyOf(made)))};
    staged.taken = true; // from here the journal record owns the files
    boolean committed = false;
    try {
      for (String uuid : made) {
        p.move(tmp(sr, uuid), sr.file(uuid));
      }
      OvaArchive ova = r.ova();
      OvaArchive.Obj vmObj =
          ova.ofClass("VM").stream()
              .findFirst()
              .orElseThrow(() -> new XvaException("ova.xml: no VM object"));
      String vmUuid = UUID.randomUUID().toString();
      Map<String, Object> vm = vmObj.snapshot();
      sr.catalog()
          .transaction(
              () -> {
                for (OvaArchive.Disk d : ova.disks()) {
                  Map<String, Object> v = d.vdi().snapshot();
                  sr.catalog()
                      .putVdi(
                          new Catalog.Vdi(
                              vdiByRef.get(d.id()),
                              str(v.get("name_label"), d.id()),
                              str(v.get("name_description"), ""),
                              false,
                              false,
                              null,
                              true));
                }
                sr.catalog()
                    .putVm(
                        new Catalog.Vm(
                            vmUuid,
                            str(vm.get("name_label"), "imported"),
                            str(vm.get("name_description"), ""),
                            (int) num(vm.get("VCPUs_max"), 1),
                            num(vm.get("memory_static_max"), 1L << 30),
                            Boolean.TRUE.equals(vm.get("is_a_template")),
                            false,
                            null,
                            "{}"));
                for (OvaArchive.Obj vbd : ova.ofClass("VBD")) {
                  String vdi = vdiByRef.get(String.valueOf(vbd.snapshot().get("VDI")));
                  if (vdi == null) {
                    continue;
                  }
                  sr.catalog()
                      .putVbd(
                          new Catalog.Vbd(
                              UUID.randomUUID().toString(),
                              vmUuid,
                              vdi,
                              str(vbd.snapshot().get("userdevice"), "0"),
                              Boolean.TRUE.equals(vbd.snapshot().get("bootable")),
                              str(vbd.snapshot().get("mode"), "RW").toUpperCase(Locale.ROOT)));
                }
              });
      committed = true;
      try {
        sr.end(journal[0]);
      } catch (IOException leftBehind) {
        // Imported and durable: the next open finds every file in the catalog and only removes
        // the record. Reporting failure now would be a lie.
      }
      return new Imported(vmUuid, new ArrayList<>(vdiByRef.values()), r);
    } catch (IOException | RuntimeException | Error e) {
      if (committed) {
        throw e;
      }
      try {
        rollBack(sr, made);
        sr.end(journal[0]);
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed); // the record stays; the next open undoes the import
      }
      throw e;
    }
  }

  /** Removes the files of an import that did not complete (also run from the journal). */
  static void rollBack(StorageRepository sr, List<String> uuids) throws IOException {
    for (String uuid : uuids) {
      if (sr.catalog().vdi(uuid).isEmpty()) {
        sr.provider().delete(tmp(sr, uuid));
        sr.provider().delete(sr.file(uuid));
      }
    }
  }

  static java.nio.file.Path tmp(StorageRepository sr, String uuid) {
    return TempFiles.next(sr.file(uuid), "import");
  }

  private static String str(Object o, String dflt) {
    return o == null ? dflt : o.toString();
  }

  private static long num(Object o, long dflt) {
    try {
      return o == null ? dflt : Long.parseLong(o.toString().trim());
    } catch (NumberFormatException e) {
      return dflt;
    }
  }
}
