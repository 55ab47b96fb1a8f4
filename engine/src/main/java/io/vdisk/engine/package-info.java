/**
 * Everything that does I/O on disk images: one VHD file as a layer ({@link
 * io.vdisk.engine.image.VhdImage}), chains of them ({@link io.vdisk.engine.DiskChain}) behind the
 * {@link io.vdisk.engine.VirtualDisk} contract, raw files, conversion by extent streams, and the
 * structural checker. Nothing here prints or parses command lines.
 */
package io.vdisk.engine;
