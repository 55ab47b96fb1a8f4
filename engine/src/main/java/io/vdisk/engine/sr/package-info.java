/**
 * The storage repository: a directory of {@code <vdi-uuid>.vhd} files laid out as XenServer's file
 * SR, plus an embedded SQLite catalog ({@code sr.db}) for what VHDs cannot hold (names, VMs,
 * templates, VBDs), a lock file and a journal of multi-file operations in progress.
 */
package io.vdisk.engine.sr;
