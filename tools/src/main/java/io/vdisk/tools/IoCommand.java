package io.vdisk.tools;

import io.vdisk.engine.Disks;
import io.vdisk.engine.VirtualDisk;
import io.vdisk.engine.WriteRule;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.sr.StorageRepository;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "io",
    description = {
      "Run qemu-io style commands (write, read, flush) against an image and its chain.",
      "Run qemu-io style commands against an image (its whole chain): OFF and LEN take K, M, G, T suffixes. The image is flushed and closed at the end.",
      "  write [-P BYTE] OFF LEN   write LEN bytes of BYTE (default 0xcd) at OFF",
      "  write -z OFF LEN          make the range read as zeros",
      "  read [-P BYTE] OFF LEN    read; with -P verify every byte, failing on a mismatch",
      "  flush                     make every write durable"
    })
final class IoCommand extends VdiskCommand {
  private static final int CHUNK = 1 << 20;

  @Option(names = "-r", description = "Open read-only.")
  boolean readOnly;

  @Option(
      names = "--force",
      description =
          "Write an image that others read through (a hidden base, or a parent another image in"
              + " its directory names), knowing that every one of them changes too. Never an SR's"
              + " VDI, never an image another process has open.")
  boolean force;

  @Option(names = "-f", paramLabel = "FMT", description = "Format: raw or vhd (default: detected).")
  String format;

  @Option(names = "-c", paramLabel = "CMD", required = true, description = "A command; repeatable.")
  List<String> commands = new ArrayList<>();

  @Parameters(index = "0", paramLabel = "FILE", description = "The image or chain leaf.")
  Path file;

  @picocli.CommandLine.Mixin ForceShare share = new ForceShare();

  @Override
  public Integer call() throws Exception {
    List<Op> ops = new ArrayList<>();
    for (String c : commands) {
      ops.add(Op.parse(c));
    }
    if (share.forceShare && !readOnly) {
      throw new ErrorHandler.UsageException("-U reads without a lock; it needs -r");
    }
    try (VirtualDisk disk = open()) {
      for (Op op : ops) {
        if (!run(disk, op)) {
          return ExitCode.FAILED;
        }
      }
    }
    return ExitCode.OK;
  }

  /** An SR's VDI file goes through its SR (rules, VDI lock); anything else is opened directly. */
  private VirtualDisk open() throws java.io.IOException {
    if (!share.forceShare && WriteRule.srVdi(file).isPresent()) {
      return StorageRepository.openVdiFile(file, readOnly, "io");
    }
    return Disks.open(
        file,
        ConvertCommand.parseFormat(format),
        readOnly ? share.readAccess() : StorageProvider.Access.WRITE,
        force ? WriteRule.Grant.FORCE : WriteRule.Grant.USER);
  }

  private boolean run(VirtualDisk disk, Op op) throws java.io.IOException {
    if (op.verb.equals("flush")) {
      disk.flush();
      return true;
    }
    if (op.offset > disk.size() || op.length > disk.size() - op.offset) {
      throw new ErrorHandler.UsageException(
          String.format(
              "%s: %s %d+%d is past the end of the disk (%d bytes)",
              file, op.verb, op.offset, op.length, disk.size()));
    }
    if (op.verb.equals("write") && op.zero) {
      disk.writeZeros(op.offset, op.length);
      out().printf("wrote %d/%d bytes at offset %d%n", op.length, op.length, op.offset);
      return true;
    }
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, Math.max(1, op.length)));
    if (op.verb.equals("write")) {
      Arrays.fill(buf.array(), (byte) op.pattern);
      for (long done = 0; done < op.length; ) {
        int n = (int) Math.min(buf.capacity(), op.length - done);
        buf.clear().limit(n);
        disk.write(op.offset + done, buf);
        done += n;
      }
      out().printf("wrote %d/%d bytes at offset %d%n", op.length, op.length, op.offset);
      return true;
    }
    for (long done = 0; done < op.length; ) {
      int n = (int) Math.min(buf.capacity(), op.length - done);
      buf.clear().limit(n);
      disk.read(op.offset + done, buf);
      if (op.verify) {
        for (int i = 0; i < n; i++) {
          if (buf.array()[i] != (byte) op.pattern) {
            err()
                .printf(
                    "vdisk: %s: pattern verification failed at offset %d: expected 0x%02x, found"
                        + " 0x%02x (read %d+%d)%n",
                    file,
                    op.offset + done + i,
                    op.pattern,
                    buf.array()[i] & 0xFF,
                    op.offset,
                    op.length);
            err().flush();
            return false;
          }
        }
      }
      done += n;
    }
    out().printf("read %d/%d bytes at offset %d%n", op.length, op.length, op.offset);
    return true;
  }

  /** One parsed command. */
  record Op(String verb, long offset, long length, int pattern, boolean verify, boolean zero) {
    static Op parse(String text) {
      String[] t = text.trim().split("\\s+", -1);
      String verb = t[0];
      if (verb.equals("flush") && t.length == 1) {
        return new Op("flush", 0, 0, 0, false, false);
      }
      if (!verb.equals("write") && !verb.equals("read")) {
        throw new ErrorHandler.UsageException(
            "unknown io command '" + text + "': use write, read or flush");
      }
      int pattern = 0xcd;
      boolean verify = false;
      boolean zero = false;
      List<String> args = new ArrayList<>();
      for (int i = 1; i < t.length; i++) {
        switch (t[i]) {
          case "-P" -> {
            if (i + 1 >= t.length) {
              throw new ErrorHandler.UsageException("'" + text + "': -P needs a byte value");
            }
            pattern = parseByte(t[++i], text);
            verify = true;
          }
          case "-z" -> {
            if (!verb.equals("write")) {
              throw new ErrorHandler.UsageException("'" + text + "': -z is for write");
            }
            zero = true;
          }
          default -> args.add(t[i]);
        }
      }
      if (args.size() != 2) {
        throw new ErrorHandler.UsageException(
            "'" + text + "': expected " + verb + " [options] OFF LEN");
      }
      try {
        return new Op(
            verb,
            Sizes.parse(args.get(0)),
            Sizes.parse(args.get(1)),
            pattern,
            verify && verb.equals("read"),
            zero);
      } catch (IllegalArgumentException e) {
        throw new ErrorHandler.UsageException("'" + text + "': " + e.getMessage());
      }
    }

    private static int parseByte(String s, String text) {
      try {
        int v =
            s.startsWith("0x") || s.startsWith("0X")
                ? Integer.parseInt(s.substring(2), 16)
                : Integer.parseInt(s);
        if (v < 0 || v > 255) {
          throw new NumberFormatException();
        }
        return v;
      } catch (NumberFormatException e) {
        throw new ErrorHandler.UsageException(
            "'" + text + "': pattern '" + s + "' is not a byte (0..255)");
      }
    }
  }
}
