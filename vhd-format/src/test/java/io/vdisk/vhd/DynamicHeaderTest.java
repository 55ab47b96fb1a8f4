package io.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class DynamicHeaderTest {
  @Test
  void roundTripsWithParentAndLocators() throws Exception {
    List<ParentLocator> locs =
        List.of(
            new ParentLocator(ParentLocator.MACX, 512, 17, 0, 3072),
            new ParentLocator(ParentLocator.W2KU, 512, 20, 0, 3584),
            new ParentLocator(ParentLocator.W2RU, 512, 20, 0, 4096));
    DynamicHeader h =
        DynamicHeader.create(1536, 32, VhdLayout.DEFAULT_BLOCK_SIZE)
            .withParent(UUID.randomUUID(), 77, "base.vhd", locs);
    ByteBuffer bytes = h.toBuffer();
    DynamicHeader back = DynamicHeader.parse(bytes.duplicate());
    assertThat(back.checksumValid()).isTrue();
    assertThat(back.parentName()).isEqualTo("base.vhd");
    assertThat(back.locators().subList(0, 3)).isEqualTo(locs);
    assertThat(back.locators().get(3)).isEqualTo(ParentLocator.EMPTY);
    assertThat(back.toBuffer()).isEqualTo(bytes);
  }

  /**
   * blktap writes "base.vhd" as UTF-16BE at header+0x40 (docs/reference/vhd-format-notes.md §1.8).
   */
  @Test
  void parentNameIsUtf16BigEndian() {
    byte[] enc = DynamicHeader.encodeParentName("base.vhd");
    assertThat(java.util.Arrays.copyOf(enc, 16))
        .isEqualTo(Hex.bytes("0062 0061 0073 0065 002e 0076 0068 0064"));
  }

  @Test
  void qemuHeaderChecksumVector() throws Exception {
    // qemu-img create -f vpc 64M: header checksum 0xfffff456 (docs/reference/vhd-format-notes.md
    // §1.4).
    DynamicHeader h =
        new DynamicHeader(
            -1L,
            1536,
            DynamicHeader.HEADER_VERSION,
            33,
            0x200000,
            0,
            new UUID(0, 0),
            0,
            0,
            null,
            null,
            null);
    assertThat(h.computedChecksum()).isEqualTo(0xfffff456);
  }

  @Test
  void wrongCookieIsRefused() {
    assertThatThrownBy(() -> DynamicHeader.parse(ByteBuffer.allocate(DynamicHeader.SIZE)))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("cxsparse");
  }
}
