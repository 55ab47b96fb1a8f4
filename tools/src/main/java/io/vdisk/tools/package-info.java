/**
 * The {@code vdisk} command: one picocli class per subcommand, one place ({@link
 * io.vdisk.tools.ErrorHandler}) that turns exceptions into one-line messages and exit codes.
 */
package io.vdisk.tools;
