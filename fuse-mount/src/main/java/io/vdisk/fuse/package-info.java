/**
 * The jnr-fuse adapter: {@link io.vdisk.fuse.DiskFs} shows {@code VirtualDisk}s as files (one image
 * or chain, an SR's VDIs, an XVA's disks). It only translates types; every callback maps exceptions
 * to an errno in one place ({@link io.vdisk.fuse.Errno}).
 */
package io.vdisk.fuse;
