package io.vdisk.vhd;

/** Footer disk type codes (spec, "Disk Type"). Unknown codes stay raw in {@link Footer}. */
public enum DiskType {
  FIXED(2),
  DYNAMIC(3),
  DIFFERENCING(4);

  private final int code;

  DiskType(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The type for a code, or {@code null} for codes the spec reserves or never defined. */
  public static DiskType ofCode(int code) {
    for (DiskType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    return null;
  }

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
