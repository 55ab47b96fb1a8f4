package io.vdisk.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vdisk.engine.xva.ChunkChecksum;
import io.vdisk.engine.xva.XvaCompression;
import io.vdisk.engine.xva.XvaException;
import io.vdisk.engine.xva.XvaFixture;
import io.vdisk.engine.xva.XvaFixture.Entry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** vm-export and vm-import through an SR: round trips, and every bad archive refused cleanly. */
class XvaTest {
  @TempDir Path tmp;
  private Path srcDir;
  private String vm;
  private byte[] disk0;
  private byte[] disk1;

  @BeforeEach
  void setUp() throws Exception {
    srcDir = tmp.resolve("src");
    try (StorageRepository sr = StorageRepository.create(srcDir, "test")) {
      String a = Vdis.create(sr, "root", "boot disk", 6L << 20);
      String b = Vdis.create(sr, "data", "", (3L << 20) + 512); // a short last chunk
      SrStoryTest.write(sr, a, 0, 4096, 0x11);
      SrStoryTest.write(sr, a, (4L << 20) + 512, 1024, 0x12);
      SrStoryTest.write(sr, b, 3L << 20, 512, 0x21);
      vm = Vms.create(sr, "web", "a VM", 2, 2L << 30);
      Vms.createVbd(sr, vm, a, "0", true, "RW");
      Vms.createVbd(sr, vm, b, "1", false, "RW");
      disk0 = SrStoryTest.read(sr, a);
      disk1 = SrStoryTest.read(sr, b);
    }
  }

  private byte[] export(XvaCompression c, ChunkChecksum k) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (StorageRepository sr = StorageRepository.open(srcDir, false, "export")) {
      XvaTransfer.export(sr, vm, out, c, k);
    }
    return out.toByteArray();
  }

  private String importInto(Path dir, byte[] xva) throws Exception {
    try (StorageRepository sr = StorageRepository.create(dir, "import")) {
      return XvaTransfer.importVm(sr, new ByteArrayInputStream(xva), false).vm();
    }
  }

  @ParameterizedTest
  @CsvSource({"NONE, SHA1", "GZIP, SHA1", "ZSTD, XXHASH", "LZ4, SHA1"})
  void exportImportExportKeepsDisksAndMetadata(XvaCompression c, ChunkChecksum k) throws Exception {
    byte[] xva = export(c, k);
    Path dst = tmp.resolve("dst");
    String imported = importInto(dst, xva);
    try (StorageRepository sr = StorageRepository.create(dst, "check")) {
      Vms.VmView v = Vms.get(sr, imported);
      assertThat(v.name()).isEqualTo("web");
      assertThat(v.vcpus()).isEqualTo(2);
      assertThat(v.memory()).isEqualTo(2L << 30);
      assertThat(v.disks()).extracting(Vms.Disk::device).containsExactlyInAnyOrder("0", "1");
      for (Vms.Disk d : v.disks()) {
        byte[] expected = d.device().equals("0") ? disk0 : disk1;
        assertThat(SrStoryTest.read(sr, d.vdi())).isEqualTo(expected);
        assertThat(d.bootable()).isEqualTo(d.device().equals("0"));
      }
      assertThat(SrMaintenance.scan(sr)).isEmpty();
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      XvaTransfer.export(sr, imported, again, XvaCompression.NONE, ChunkChecksum.SHA1);
      List<Entry> first =
          XvaFixture.entries(
              c == XvaCompression.NONE ? xva : export(XvaCompression.NONE, ChunkChecksum.SHA1));
      List<Entry> second = XvaFixture.entries(again.toByteArray());
      assertThat(names(second)).isEqualTo(names(first));
      for (int i = 1; i < first.size(); i++) {
        assertThat(second.get(i).data()).as(first.get(i).name()).isEqualTo(first.get(i).data());
      }
    }
  }

  /**
   * An uncompressed export into a file goes through direct buffers (disk file → archive file, no
   * byte[]); it must be, entry for entry, the stream's export (ova.xml aside: it carries the time),
   * with either checksum, and import back to the same disks.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(ChunkChecksum.class)
  void anExportIntoAFileIsTheStreamsExportEntryForEntry(ChunkChecksum k) throws Exception {
    Path file = tmp.resolve("out.xva");
    try (StorageRepository sr = StorageRepository.open(srcDir, false, "export")) {
      XvaTransfer.exportToFile(sr, vm, file, XvaCompression.NONE, k);
    }
    byte[] fromFile = java.nio.file.Files.readAllBytes(file);
    List<Entry> a = XvaFixture.entries(fromFile);
    List<Entry> b = XvaFixture.entries(export(XvaCompression.NONE, k));
    assertThat(names(a)).isEqualTo(names(b));
    for (int i = 1; i < a.size(); i++) {
      assertThat(a.get(i).data()).as(a.get(i).name()).isEqualTo(b.get(i).data());
    }
    Path dst = tmp.resolve("dst");
    String imported = importInto(dst, fromFile);
    try (StorageRepository sr = StorageRepository.create(dst, "check")) {
      for (Vms.Disk d : Vms.get(sr, imported).disks()) {
        assertThat(SrStoryTest.read(sr, d.vdi())).isEqualTo(d.device().equals("0") ? disk0 : disk1);
      }
    }
  }

  @Test
  void zeroChunksAreOmittedButFirstAndLastAreKept() throws Exception {
    List<String> names = names(XvaFixture.entries(export(XvaCompression.NONE, ChunkChecksum.SHA1)));
    assertThat(names)
        .containsExactly(
            "ova.xml",
            "Ref:103/00000000",
            "Ref:103/00000000.checksum",
            "Ref:103/00000004",
            "Ref:103/00000004.checksum",
            "Ref:103/00000005",
            "Ref:103/00000005.checksum",
            "Ref:105/00000000",
            "Ref:105/00000000.checksum",
            "Ref:105/00000003",
            "Ref:105/00000003.checksum");
  }

  private static List<String> names(List<Entry> entries) {
    return entries.stream().map(Entry::name).toList();
  }

  private void assertRefused(byte[] xva, String... messages) throws Exception {
    Path dst = tmp.resolve("refused");
    assertThatThrownBy(() -> importInto(dst, xva))
        .isInstanceOf(XvaException.class)
        .satisfies(
            e -> {
              for (String m : messages) {
                assertThat(e.getMessage()).contains(m);
              }
            });
    try (StorageRepository sr = StorageRepository.create(dst, "check")) {
      assertThat(sr.vdis()).isEmpty();
      assertThat(Vms.list(sr, null)).isEmpty();
    }
    try (Stream<Path> s = Files.list(dst)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".vhd"))).isEmpty();
    }
    if (Files.isDirectory(dst.resolve("journal"))) { // a refused archive never reached one
      try (Stream<Path> s = Files.list(dst.resolve("journal"))) {
        assertThat(s).isEmpty();
      }
    }
    try (Stream<Path> s = Files.list(dst)) {
      assertThat(s).as("no temporary file").noneMatch(io.vdisk.engine.io.TempFiles::isTemp);
    }
  }

  private byte[] edit(UnaryOperator<List<Entry>> change) throws Exception {
    return XvaFixture.write(
        change.apply(
            new ArrayList<>(XvaFixture.entries(export(XvaCompression.NONE, ChunkChecksum.SHA1)))));
  }

  private static Entry ova(List<Entry> l) {
    return l.get(0);
  }

  private static Entry withOva(String from, String to, List<Entry> l) {
    String xml = new String(ova(l).data(), StandardCharsets.UTF_8);
    assertThat(xml).contains(from);
    return new Entry("ova.xml", xml.replace(from, to).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aFlippedByteNamesTheBlockAndBothChecksums() throws Exception {
    byte[] xva =
        edit(
            l -> {
              byte[] d = l.get(1).data().clone();
              d[100] ^= 1;
              l.set(1, new Entry(l.get(1).name(), d));
              return l;
            });
    assertRefused(xva, "block Ref:103/00000000 checksum failed", "archive has ", "data gives ");
  }

  @Test
  void aMissingChecksumIsRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.remove(2);
              return l;
            }),
        "Ref:103/00000000",
        "expected its checksum file");
  }

  @Test
  void chunksOutOfOrderAreRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              // 00000004 renamed 00000000: a number that does not increase.
              l.set(3, new Entry("Ref:103/00000000", l.get(3).data()));
              l.set(4, new Entry("Ref:103/00000000.checksum", l.get(4).data()));
              return l;
            }),
        "comes after chunk 0 of Ref:103",
        "out of order");
  }

  @Test
  void unpaddedChunkNamesAreNumbersForTheImporterAndTheMountAlike() throws Exception {
    List<Entry> l = XvaFixture.entries(export(XvaCompression.NONE, ChunkChecksum.SHA1));
    List<Entry> unpadded = new java.util.ArrayList<>();
    for (Entry e : l) {
      unpadded.add(new Entry(e.name().replaceAll("/0+(\\d)", "/$1"), e.data()));
    }
    byte[] xva = XvaFixture.write(unpadded);
    Path dst = tmp.resolve("unpadded");
    String imported = importInto(dst, xva);
    try (StorageRepository sr = StorageRepository.open(dst, false, "check")) {
      for (Vms.Disk d : Vms.get(sr, imported).disks()) {
        assertThat(SrStoryTest.read(sr, d.vdi())).isEqualTo(d.device().equals("0") ? disk0 : disk1);
      }
    }
    Path file = Files.write(tmp.resolve("unpadded.xva"), xva);
    java.util.Map<io.vdisk.engine.xva.OvaArchive.Disk, io.vdisk.engine.xva.XvaDisk> disks =
        io.vdisk.engine.xva.XvaDisk.openAll(file);
    try {
      for (var e : disks.entrySet()) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) e.getValue().size());
        e.getValue().read(0, b);
        assertThat(b.array()).isIn(disk0, disk1);
      }
    } finally {
      for (var d : disks.values()) {
        d.close();
      }
    }
  }

  @Test
  void aChunkNumberPastTheDiskIsABadArchiveNotABug() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.set(3, new Entry("Ref:103/999999999999999999", l.get(3).data()));
              l.set(4, new Entry("Ref:103/999999999999999999.checksum", l.get(4).data()));
              return l;
            }),
        "lies past the disk's virtual_size");
  }

  @Test
  void controlCharactersInEntryNamesAreEscaped() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.set(3, new Entry("Ref:103/\u001b[31mred", l.get(3).data()));
              return l;
            }),
        "\\x1b[31mred");
  }

  @Test
  void aChunkThatIsNotWholeSectorsIsRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              byte[] d = Arrays.copyOf(l.get(3).data(), 1000);
              l.set(3, new Entry(l.get(3).name(), d));
              l.set(
                  4,
                  new Entry(
                      l.get(4).name(),
                      ChunkChecksum.SHA1
                          .of(java.nio.ByteBuffer.wrap(d))
                          .getBytes(StandardCharsets.US_ASCII)));
              return l;
            }),
        "not a multiple of 512");
  }

  @Test
  void aMissingRequiredFieldIsNamed() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.set(0, withOva("<member><name>PV_args</name><value/></member>", "", l));
              return l;
            }),
        "has no field 'PV_args'");
  }

  @Test
  void aNewerXapiIsRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.set(
                  0,
                  withOva(
                      "<name>xapi_major</name><value>1</value>",
                      "<name>xapi_major</name><value>99</value>",
                      l));
              return l;
            }),
        "newer than",
        "IMPORT_INCOMPATIBLE_VERSION");
  }

  @Test
  void hostileEntriesAreRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.add(1, new Entry("../evil", new byte[512]));
              return l;
            }),
        "refusing entry '../evil'");
    assertRefused(
        edit(
            l -> {
              l.add(1, new Entry("/etc/evil", new byte[512]));
              return l;
            }),
        "refusing entry '/etc/evil'");
    assertRefused(
        edit(
            l -> {
              l.add(1, new Entry("Ref:103/00000000", null, "/etc/passwd"));
              return l;
            }),
        "a link");
  }

  @Test
  void xmlWithADtdIsRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              String xml =
                  "<!DOCTYPE v [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                      + new String(ova(l).data(), StandardCharsets.UTF_8);
              l.set(0, new Entry("ova.xml", xml.getBytes(StandardCharsets.UTF_8)));
              return l;
            }),
        "DOCTYPE");
  }

  @Test
  void truncatedArchivesAreRefused() throws Exception {
    byte[] xva = export(XvaCompression.NONE, ChunkChecksum.SHA1);
    assertRefused(Arrays.copyOf(xva, xva.length / 2), "truncated");
    byte[] gz = export(XvaCompression.GZIP, ChunkChecksum.SHA1);
    assertRefused(Arrays.copyOf(gz, gz.length - 100), "");
  }

  @Test
  void aDiskLargerThanItsVirtualSizeIsRefused() throws Exception {
    assertRefused(
        edit(
            l -> {
              l.set(
                  0,
                  withOva(
                      "<name>virtual_size</name><value>6291456</value>",
                      "<name>virtual_size</name><value>1049088</value>",
                      l));
              return l;
            }),
        "past the disk's virtual_size");
  }

  @Test
  void forceOnlyWarnsAboutChecksums() throws Exception {
    byte[] xva =
        edit(
            l -> {
              byte[] d = l.get(1).data().clone();
              d[0] ^= 1;
              l.set(1, new Entry(l.get(1).name(), d));
              return l;
            });
    try (StorageRepository sr = StorageRepository.create(tmp.resolve("forced"), "import")) {
      XvaTransfer.Imported r = XvaTransfer.importVm(sr, new ByteArrayInputStream(xva), true);
      assertThat(r.read().warnings()).singleElement().asString().contains("checksum failed");
    }
  }
}
