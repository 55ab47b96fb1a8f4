/**
 * The jnr-fuse adapter that exposes {@code VirtualDisk}s as files (one image or chain, an SR, an
 * XVA archive). Not built yet: it is the work of the FUSE issue; the module exists so that the
 * dependency direction tools → fuse-mount → engine is fixed from the start.
 */
package io.vdisk.fuse;
