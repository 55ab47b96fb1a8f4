package io.vdisk.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FooterTest {
  /**
   * First 0x50 bytes of {@code qemu-img create -f vpc x 64M} (docs/reference/vhd-format-notes.md
   * §1.3).
   */
  private static final String QEMU_64M =
      "636f6e6563746978000000020001000000000000000002 00329a03b371656d75"
          + "0005000357693 26b000000000400400000000000040040 0003c408110000 0003"
          + "ffffedc0a5eda29543834aecbd6bba4f";

  /** First 0x50 bytes of {@code vhd-util create -s 64} (blktap, creator tap\0 1.3). */
  private static final String TAP_64M =
      "636f6e65637469780000000200010000"
          + "0000000000000200329a03bb74617000"
          + "00010003000000000000000004000000"
          + "000000000400000003c3081100000003"
          + "ffffefc1a527d8ae8c19496694b1e9be";

  private static ByteBuffer image(String hex) {
    return Hex.padded(Hex.bytes(hex), Footer.SIZE);
  }

  @Test
  void parsesQemuFooterAndItsChecksumIsValid() throws Exception {
    Footer f = Footer.parse(image(QEMU_64M));
    assertThat(f.creatorApplication()).isEqualTo(0x71656d75); // "qemu"
    assertThat(f.currentSize()).isEqualTo(67125248L);
    assertThat(f.geometry()).isEqualTo(new Geometry(964, 8, 17));
    assertThat(f.type()).isEqualTo(DiskType.DYNAMIC);
    assertThat(f.storedChecksum()).isEqualTo(0xffffedc0);
  }

  @Test
  void parsesBlktapFooterWithExactSizeAndSpecGeometry() throws Exception {
    Footer f = Footer.parse(image(TAP_64M));
    assertThat(f.creatorApplication()).isEqualTo(VhdLayout.CREATOR_TAP);
    assertThat(f.creatorVersion()).isEqualTo(VhdLayout.CREATOR_VERSION_TAP_1_3);
    assertThat(f.currentSize()).isEqualTo(64L << 20);
    assertThat(f.geometry()).isEqualTo(Geometry.forSize(64L << 20));
  }

  /**
   * The vectors hold only the first 0x50 bytes (the UUID's last 4 bytes are cut), so the checksum
   * field is recomputed on write; every other byte must come back as read. Whole real footers are
   * round-tripped in the qemu interop tests.
   */
  @Test
  void writeOfParseIsTheSameBytesButTheChecksum() throws Exception {
    for (String hex : new String[] {QEMU_64M, TAP_64M}) {
      ByteBuffer original = image(hex);
      Footer f = Footer.parse(original.duplicate());
      ByteBuffer written = f.toBuffer();
      assertThat(written.getInt(64)).isEqualTo(f.computedChecksum());
      written.putInt(64, original.getInt(64));
      assertThat(written).isEqualTo(original);
    }
  }

  @Test
  void createdFooterIsWhatBlktapWrites() throws Exception {
    Footer ours =
        Footer.create(
            DiskType.DYNAMIC,
            64L << 20,
            UUID.fromString("a527d8ae-8c19-4966-94b1-e9be00000000"),
            0x329a03bb,
            512);
    Footer tap = Footer.parse(image(TAP_64M));
    assertThat(ours.features()).isEqualTo(tap.features());
    assertThat(ours.creatorApplication()).isEqualTo(tap.creatorApplication());
    assertThat(ours.creatorVersion()).isEqualTo(tap.creatorVersion());
    assertThat(ours.creatorHostOs()).isEqualTo(tap.creatorHostOs());
    assertThat(ours.geometry()).isEqualTo(tap.geometry());
    assertThat(ours.toBuffer().slice(0, 68))
        .isEqualTo(
            tap.withStoredChecksum(0)
                .toBuffer()
                .slice(0, 68)
                .duplicate()
                .putInt(64, ours.computedChecksum())
                .clear()
                .slice(0, 68));
  }

  @Test
  void parseOfWriteIsTheSameValue() throws Exception {
    Footer f =
        Footer.create(DiskType.DIFFERENCING, 5L << 30, UUID.randomUUID(), 12345, 512)
            .withHidden(true);
    Footer back = Footer.parse(f.toBuffer());
    assertThat(back.withStoredChecksum(0)).isEqualTo(f);
    assertThat(back.isHidden()).isTrue();
    assertThat(back.checksumValid()).isTrue();
  }

  @Test
  void flippedByteBreaksTheChecksum() throws Exception {
    ByteBuffer b = image(TAP_64M);
    b.put(50, (byte) (b.get(50) ^ 1));
    Footer f = Footer.parse(b);
    assertThat(f.checksumValid()).isFalse();
  }

  @Test
  void missingCookieIsNamed() {
    ByteBuffer b = ByteBuffer.allocate(Footer.SIZE);
    assertThatThrownBy(() -> Footer.parse(b))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("cookie expected 'conectix'");
  }
}
