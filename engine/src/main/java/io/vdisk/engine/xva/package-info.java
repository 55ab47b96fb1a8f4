/**
 * XVA archives as xapi writes and reads them: {@code ova.xml} in xapi's XML-RPC dialect, then each
 * VDI as 1 MiB chunks with inline SHA-1 or XXH64 checksums, in a V7 tar stream, optionally
 * compressed whole. See {@code docs/reference/xva-format-notes.md}.
 */
package io.vdisk.engine.xva;
