package io.vdisk.tools;

import io.vdisk.engine.ChangedBlocks;
import io.vdisk.engine.sr.Cbt;
import io.vdisk.engine.sr.StorageRepository;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;

/** xe's changed-block-tracking verbs. */
final class CbtVerbs {
  private CbtVerbs() {}

  static final Class<?>[] ALL = {
    EnableCbt.class, DisableCbt.class, ListChangedBlocks.class, DataDestroy.class
  };

  @Command(
      name = "vdi-enable-cbt",
      description = {
        "Start changed-block tracking for uuid=.",
        "A <uuid>.cbtlog beside its VHD, in blktap's format, that every vdisk writer of the VDI updates and each snapshot carries on."
      })
  static final class EnableCbt extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Cbt.enable(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }

  @Command(name = "vdi-disable-cbt", description = "Stop changed-block tracking for uuid=.")
  static final class DisableCbt extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Cbt.disable(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-data-destroy",
      description = {
        "Remove a snapshot's data, keep its CBT log.",
        "The VDI stays as type cbt_metadata, so change lists from it still work; vdi-destroy removes it whole."
      })
  static final class DataDestroy extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("uuid");
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      Cbt.dataDestroy(sr, required(a, "uuid"));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "vdi-list-changed-blocks",
      description = {
        "The 64 KiB blocks changed between two VDIs.",
        "vdi-from-uuid= and vdi-to-uuid= name them:",
        "A snapshot and a later snapshot or the VDI, in either order. Printed as xapi's VDI.list_changed_blocks: base64, one bit per block, block 0 the high bit of byte 0; --json adds extents, exact (sector) extents, sizes and where it came from. From the chains (exact, no data read) when both VDIs have data, else from the CBT logs.",
        "Example: vdisk vdi-list-changed-blocks vdi-from-uuid=SNAP vdi-to-uuid=VDI --json"
      })
  static final class ListChangedBlocks extends XeCommand {
    @Override
    Set<String> keys() {
      return Set.of("vdi-from-uuid", "vdi-to-uuid");
    }

    @Override
    boolean changes() {
      return false;
    }

    @Override
    int run(Map<String, String> a, StorageRepository sr) throws Exception {
      ChangedBlocks c = Cbt.changed(sr, required(a, "vdi-from-uuid"), required(a, "vdi-to-uuid"));
      if (!json) {
        out().println(c.xapiBitmap());
        return ExitCode.OK;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("bitmap", c.xapiBitmap());
      m.put("block-size", ChangedBlocks.BLOCK);
      m.put("size", c.size());
      m.put("from-size", c.fromSize());
      m.put("source", c.source() == ChangedBlocks.Source.LAYERS ? "layers" : "cbt");
      m.put("changed-blocks", c.blocks().getLongCardinality());
      m.put("extents", ranges(c.blockRanges()));
      m.put("exact-extents", ranges(c.exact()));
      printJson(m);
      return ExitCode.OK;
    }

    private static List<Map<String, Long>> ranges(List<ChangedBlocks.Range> rs) {
      List<Map<String, Long>> out = new ArrayList<>();
      for (ChangedBlocks.Range r : rs) {
        Map<String, Long> e = new LinkedHashMap<>();
        e.put("offset", r.offset());
        e.put("length", r.length());
        out.add(e);
      }
      return out;
    }
  }
}
