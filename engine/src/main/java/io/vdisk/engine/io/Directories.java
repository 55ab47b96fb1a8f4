package io.vdisk.engine.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Directory durability: the last step of every publish, link and delete. */
public final class Directories {
  private Directories() {}

  /** fsyncs a directory so that a rename or a new file in it is durable (Linux). */
  public static void sync(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not every file system lets a directory be opened; the rename itself already happened.
    }
  }
}
