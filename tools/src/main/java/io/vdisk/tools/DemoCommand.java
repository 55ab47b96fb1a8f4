package io.vdisk.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "demo",
    description = {
      "Show the storage-repository story in an SR (default ./vdisk-data).",
      "The storage-repository story in DIR (default ./vdisk-data): a template with a 256 MiB disk, three fast clones of it (no extra depth), a clone written to, turned template and cloned again (one more layer), a vm-copy that flattens it, and the listings. Prints each command as it runs it."
    })
final class DemoCommand extends VdiskCommand {
  @Parameters(
      index = "0",
      paramLabel = "DIR",
      defaultValue = "vdisk-data",
      arity = "0..1",
      description = "The SR directory to make the demo in (default ./vdisk-data).")
  Path dir;

  private String sr;

  @Override
  public Integer call() throws Exception {
    sr = dir.toString();
    step("sr-create");
    String disk = step("vdi-create", "name-label=demo-root", "virtual-size=256M");
    step(
        "io",
        dir.resolve(disk + ".vhd").toString(),
        "-c",
        "write -P 0x11 0 8M",
        "-c",
        "write -P 0x12 100M 4M");
    String tmpl = step("vm-create", "name-label=demo-template", "vcpus=2", "memory=2G");
    step("vbd-create", "vm-uuid=" + tmpl, "vdi-uuid=" + disk, "device=0", "bootable=true");
    step("vm-param-set", "uuid=" + tmpl, "is-a-template=true");
    String first = null;
    for (int i = 1; i <= 3; i++) {
      String vm = step("vm-clone", "vm=" + tmpl, "new-name-label=demo-vm" + i);
      first = first == null ? vm : first;
    }
    step("vm-disk-list", "vm=" + first);
    String firstDisk = step("vm-disk-list", "--minimal", "vm=" + first);
    step("io", dir.resolve(firstDisk + ".vhd").toString(), "-c", "write -P 0x22 1M 64K");
    step("vm-param-set", "uuid=" + first, "is-a-template=true");
    String deeper = step("vm-clone", "vm=" + first, "new-name-label=demo-vm1-clone");
    step("vm-disk-list", "vm=" + deeper);
    String flat = step("vm-copy", "vm=" + deeper, "new-name-label=demo-vm1-clone-copy");
    step("vm-disk-list", "vm=" + flat);
    step("template-list");
    step("vm-list");
    step("vdi-list", "params=uuid,name-label,chain-depth,parent,read-only");
    step("sr-scan");
    out().println("The SR is " + dir.toAbsolutePath() + "; try: ./vdisk vdi-list --json");
    return ExitCode.OK;
  }

  /** Runs one vdisk command as a user would, printing it and its output; returns its last line. */
  private String step(String... args) {
    String[] full = args;
    if (!args[0].equals("io")) {
      full = new String[args.length + 2];
      full[0] = args[0];
      full[1] = "--sr";
      full[2] = sr;
      System.arraycopy(args, 1, full, 3, args.length - 1);
    }
    out().println("$ vdisk " + String.join(" ", args));
    java.io.StringWriter buf = new java.io.StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(buf, true)).setErr(err()).execute(full);
    out().print(buf);
    out().flush();
    if (code != 0) {
      throw new IllegalStateException("demo step failed: vdisk " + String.join(" ", args));
    }
    String[] lines = buf.toString().trim().split("\n", -1);
    return lines[lines.length - 1].trim();
  }
}
