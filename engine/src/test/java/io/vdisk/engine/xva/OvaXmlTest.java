package io.vdisk.engine.xva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OvaXmlTest {
  /** Real ova.xml files (provenance in ova-samples/README.md). */
  static byte[] sample(String name) throws Exception {
    try (var in = OvaXmlTest.class.getResourceAsStream("/ova-samples/" + name)) {
      return in.readAllBytes();
    }
  }

  /** Real xapi output (XenServer 7.0) parses, and writing it back gives the same bytes. */
  @Test
  void xapiOutputRoundTripsByteForByte() throws Exception {
    byte[] xml = sample("xenserver-7.0_xva-tools_ova.xml");
    String text = new String(xml, StandardCharsets.UTF_8).strip();
    Object rpc = OvaXml.parse(xml);
    assertThat(OvaXml.write(rpc)).isEqualTo(text);
    OvaArchive ova = OvaArchive.of(rpc);
    ova.checkRequiredFields();
    assertThat(ova.ofClass("VM")).hasSize(1);
    List<OvaArchive.Disk> disks = ova.disks();
    assertThat(disks).hasSize(1);
    assertThat(disks.get(0).id()).isEqualTo("Ref:1736");
    assertThat(disks.get(0).virtualSize()).isEqualTo(32212254720L);
    assertThat(ova.version().get("xapi_minor")).isEqualTo("9");
  }

  @Test
  void xenServer55ExportWithACdParses() throws Exception {
    OvaArchive ova = OvaArchive.of(OvaXml.parse(sample("xenserver-5.5_openxenmanager_ova.xml")));
    assertThat(ova.ofClass("VBD")).hasSize(2);
    assertThat(ova.disks()).as("the CD's VDI is not streamed").hasSize(1);
  }

  @Test
  void xenServer71TemplateParsesOnceFilledIn() throws Exception {
    String t = new String(sample("xenserver-7.1_vorteil_ova.xml.tmpl"), StandardCharsets.UTF_8);
    String filled = t.replace("%d", "1073741824").replace("%s", "x").replace("%%", "%");
    OvaArchive ova = OvaArchive.of(OvaXml.parse(filled.getBytes(StandardCharsets.UTF_8)));
    assertThat(ova.ofClass("VM")).hasSize(1);
    assertThat(ova.disks()).isNotEmpty();
  }

  @Test
  void dtdsAndEntitiesAreRefused() {
    String xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE v [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            + "<value>&x;</value>";
    assertThatThrownBy(() -> OvaXml.parse(xxe.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(XvaException.class)
        .hasMessageContaining("DOCTYPE");
  }

  @Test
  void nestingPastTheLimitIsRefusedWithoutExhaustingTheStack() {
    String deep =
        "<value><array><data>".repeat(4000) + "<value/>" + "</data></array></value>".repeat(4000);
    assertThatThrownBy(() -> OvaXml.parse(deep.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(XvaException.class)
        .hasMessageContaining("nested deeper than " + OvaXml.MAX_DEPTH);
  }

  @Test
  void largeTextAtManyLevelsIsReadOnce() throws Exception {
    // 60 levels, 8 MiB of text at the bottom: a DOM reader copying text per level took 1.6 GB.
    String text = "x".repeat(8 << 20);
    String xml =
        "<value><array><data>".repeat(60)
            + "<value>"
            + text
            + "</value>"
            + "</data></array></value>".repeat(60);
    long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    Object v = OvaXml.parse(xml.getBytes(StandardCharsets.UTF_8));
    for (int i = 0; i < 60; i++) {
      v = ((List<?>) v).get(0);
    }
    assertThat(v).isEqualTo(text);
    long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory() - before;
    assertThat(used).as("bytes of heap the parse kept").isLessThan(200L << 20);
  }

  @Test
  void valuesAreWrittenAsRpclibDoes() throws Exception {
    Object v = Map.of("a", List.of(true, 42L, "x<y", 1.0, ""));
    String s = OvaXml.write(v);
    assertThat(s)
        .isEqualTo(
            "<value><struct><member><name>a</name><value><array><data><value><boolean>1</boolean></value>"
                + "<value>42</value><value>x&lt;y</value><value><double>1</double></value><value/>"
                + "</data></array></value></member></struct></value>");
    assertThat(OvaXml.parse(s.getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(Map.of("a", List.of(true, "42", "x<y", 1.0, "")));
    assertThat(
            OvaXml.parse("<value><boolean>true</boolean></value>".getBytes(StandardCharsets.UTF_8)))
        .as("rpclib: only 1 is true")
        .isEqualTo(false);
  }

  /**
   * Vectors from docs/reference/xva-format-notes.md §2.3 (checked there with sha1sum and xxh64sum).
   */
  @Test
  void checksumVectors() {
    assertThat(ChunkChecksum.SHA1.of(ByteBuffer.allocate(0)))
        .isEqualTo("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assertThat(ChunkChecksum.SHA1.of(ByteBuffer.allocate(1 << 20)))
        .isEqualTo("3b71f43ff30f4b15b5cd85dd9e95ebc7e84eb5a3");
    assertThat(ChunkChecksum.XXHASH.of(ByteBuffer.allocate(0))).isEqualTo("EF46DB3751D8E999");
    assertThat(ChunkChecksum.XXHASH.of(ByteBuffer.allocate(1 << 20))).isEqualTo("87D2A1B6E1163EF1");
    assertThat(ChunkChecksum.XXHASH.of(ByteBuffer.allocate(512 << 10)))
        .isEqualTo("091AB0B4B605C552");
    assertThat(ChunkChecksum.XXHASH.of(ByteBuffer.wrap("abc".getBytes(StandardCharsets.US_ASCII))))
        .isEqualTo("44BC2CF5AD770999");
    assertThat(ChunkChecksum.XXHASH.of(ByteBuffer.allocateDirect(1 << 20)))
        .isEqualTo("87D2A1B6E1163EF1");
  }
}
