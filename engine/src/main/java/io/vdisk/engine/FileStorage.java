package io.vdisk.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@link Storage} over a {@link FileChannel}, positional reads and writes only. */
final class FileStorage implements Storage {
  private final FileChannel channel;
  private final String name;

  private FileStorage(FileChannel channel, String name) {
    this.channel = channel;
    this.name = name;
  }

  static Storage open(Path path, boolean readOnly) throws IOException {
    FileChannel ch =
        readOnly
            ? FileChannel.open(path, StandardOpenOption.READ)
            : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new FileStorage(ch, path.toString());
  }

  static Storage create(Path path) throws IOException {
    FileChannel ch =
        FileChannel.open(
            path, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
    return new FileStorage(ch, path.toString());
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  @Override
  public void write(ByteBuffer src, long position) throws IOException {
    long p = position;
    while (src.hasRemaining()) {
      p += channel.write(src, p);
    }
  }

  @Override
  public long size() throws IOException {
    return channel.size();
  }

  @Override
  public void truncate(long size) throws IOException {
    channel.truncate(size);
  }

  @Override
  public void force() throws IOException {
    channel.force(true);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
