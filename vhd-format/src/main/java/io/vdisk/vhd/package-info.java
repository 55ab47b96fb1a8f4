/**
 * The VHD specification as values: every on-disk structure of a fixed, dynamic or differencing VHD
 * (Microsoft VHD spec v1.0, plus blktap's batmap and hidden flag) parses from and writes to a
 * {@link java.nio.ByteBuffer} byte-exactly. Nothing here opens files or reads clocks.
 */
package io.vdisk.vhd;
