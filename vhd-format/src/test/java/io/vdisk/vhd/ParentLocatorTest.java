package io.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ParentLocatorTest {
  /**
   * The bytes blktap writes for a sibling parent (docs/reference/vhd-format-notes.md §1.8, verified
   * hexdump).
   */
  @Test
  void encodesAsBlktapDoes() {
    assertThat(
            new String(
                ParentLocator.encodePath(ParentLocator.MACX, "base.vhd"), StandardCharsets.UTF_8))
        .isEqualTo("file://./base.vhd");
    assertThat(ParentLocator.encodePath(ParentLocator.W2KU, "base.vhd"))
        .isEqualTo(Hex.bytes("2e00 5c00 6200 6100 7300 6500 2e00 7600 6800 6400"));
    assertThat(ParentLocator.encodePath(ParentLocator.W2RU, "base.vhd"))
        .isEqualTo(ParentLocator.encodePath(ParentLocator.W2KU, "base.vhd"));
  }

  @Test
  void decodesEveryForm() {
    assertThat(
            ParentLocator.decodePath(
                ParentLocator.MACX, "file://./base.vhd".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("./base.vhd");
    assertThat(
            ParentLocator.decodePath(
                ParentLocator.MACX, "file://localhost/dir/p.vhd".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("/dir/p.vhd");
    assertThat(
            ParentLocator.decodePath(
                ParentLocator.W2KU, "c:\\dir\\p.vhd".getBytes(StandardCharsets.UTF_16LE)))
        .isEqualTo("/dir/p.vhd");
    assertThat(
            ParentLocator.decodePath(
                ParentLocator.W2RU, ".\\sub\\p.vhd\0".getBytes(StandardCharsets.UTF_16LE)))
        .isEqualTo("./sub/p.vhd");
  }

  @Test
  void dataSpaceIsSectorsBelow512AndBytesAbove() {
    assertThat(new ParentLocator(ParentLocator.MACX, 1, 17, 0, 1536).dataSpaceBytes())
        .isEqualTo(512);
    assertThat(new ParentLocator(ParentLocator.MACX, 512, 17, 0, 1536).dataSpaceBytes())
        .isEqualTo(512);
    assertThat(new ParentLocator(ParentLocator.MACX, 4096, 17, 0, 1536).dataSpaceBytes())
        .isEqualTo(4096);
    assertThat(new ParentLocator(ParentLocator.MACX, 700, 17, 0, 1536).dataSpaceBytes())
        .isEqualTo(-1);
  }
}
