package io.vdisk.engine.xva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The records vdisk writes satisfy what import requires, and carry what real xapi writes. */
class XapiRecordsTest {
  static final String VM = "11111111-2222-3333-4444-555555555555";

  static List<OvaArchive.Obj> objects() {
    List<OvaArchive.Obj> o = new ArrayList<>();
    o.add(
        new OvaArchive.Obj(
            "VM",
            "Ref:100",
            XapiRecords.vm(VM, "vm", "", false, 1L << 30, 2, List.of("Ref:102", "Ref:104"))));
    o.add(new OvaArchive.Obj("SR", "Ref:101", XapiRecords.sr(List.of("Ref:103", "Ref:105"), 1)));
    for (int i = 0; i < 2; i++) {
      String vbd = "Ref:" + (102 + 2 * i);
      String vdi = "Ref:" + (103 + 2 * i);
      o.add(
          new OvaArchive.Obj(
              "VBD",
              vbd,
              XapiRecords.vbd(
                  "00000000-0000-0000-0000-00000000000" + i,
                  "Ref:100",
                  vdi,
                  String.valueOf(i),
                  i == 0,
                  "RW")));
      o.add(
          new OvaArchive.Obj(
              "VDI",
              vdi,
              XapiRecords.vdi(
                  "00000000-0000-0000-0001-00000000000" + i,
                  "disk " + i,
                  "",
                  "Ref:101",
                  vbd,
                  1L << 20,
                  4096)));
    }
    return o;
  }

  @Test
  void everyRequiredFieldIsWritten() throws Exception {
    for (OvaArchive.Obj o : objects()) {
      assertThat(o.snapshot().keySet())
          .as(o.cls())
          .containsAll(OvaArchive.REQUIRED.getOrDefault(o.cls(), List.of()));
    }
    assertThat(XapiRecords.version().keySet()).containsAll(OvaArchive.VERSION_KEYS);
    OvaArchive ova = new OvaArchive(XapiRecords.version(), objects());
    ova.checkRequiredFields();
    // ... and survives being written and read back as ova.xml.
    OvaArchive back =
        OvaArchive.of(
            OvaXml.parse(
                OvaXml.write(ova.toRpc()).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    back.checkRequiredFields();
    assertThat(back.disks()).hasSize(2);
  }

  @Test
  void aMissingRequiredFieldIsNamed() {
    List<OvaArchive.Obj> o = objects();
    Map<String, Object> vbd = new LinkedHashMap<>(o.get(2).snapshot());
    vbd.remove("userdevice");
    o.set(2, new OvaArchive.Obj("VBD", o.get(2).id(), vbd));
    assertThatThrownBy(() -> new OvaArchive(XapiRecords.version(), o).checkRequiredFields())
        .isInstanceOf(XvaException.class)
        .hasMessageContaining("VBD Ref:102 has no field 'userdevice'");
  }

  /** Every field a real XenServer 7.0 export has in these classes, vdisk writes too. */
  @Test
  void carriesEveryFieldRealXapiWrites() throws Exception {
    OvaArchive xapi =
        OvaArchive.of(OvaXml.parse(OvaXmlTest.sample("xenserver-7.0_xva-tools_ova.xml")));
    for (String cls : List.of("VM", "VBD", "VDI", "SR")) {
      Set<String> theirs = new TreeSet<>();
      for (OvaArchive.Obj x : xapi.ofClass(cls)) {
        theirs.addAll(x.snapshot().keySet());
      }
      Set<String> ours = new TreeSet<>();
      objects().stream()
          .filter(x -> x.cls().equals(cls))
          .forEach(x -> ours.addAll(x.snapshot().keySet()));
      theirs.removeAll(ours);
      assertThat(theirs).as("%s fields xapi writes and vdisk does not", cls).isEmpty();
    }
  }
}
