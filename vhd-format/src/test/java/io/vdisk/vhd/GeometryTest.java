package io.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GeometryTest {
  /**
   * The spec's algorithm, vectors from docs/reference/vhd-format-notes.md §1.5 (64 MiB verified
   * with vhd-util).
   */
  @ParameterizedTest
  @CsvSource({
    "10485760, 301, 4, 17",
    "67108864, 963, 8, 17",
    "104857600, 1003, 12, 17",
    "1073741824, 2080, 16, 63",
    "8589934592, 16644, 16, 63",
    "34359738368, 16448, 16, 255",
    "33822351360, 16191, 16, 255",
    "2190433320960, 65535, 16, 255"
  })
  void matchesTheSpec(long size, int c, int h, int s) {
    Geometry g = Geometry.forSize(size);
    assertThat(g).isEqualTo(new Geometry(c, h, s));
    assertThat(g.capacity()).isLessThanOrEqualTo(size);
    assertThat(Geometry.unpack(g.pack())).isEqualTo(g);
  }
}
