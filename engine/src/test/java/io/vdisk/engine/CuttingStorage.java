package io.vdisk.engine;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A {@link StorageProvider} that dies at its {@code cutAt}-th mutating operation (write, fsync,
 * truncate, create, rename, link, delete) across all files, like a kill -9: every operation before
 * it landed, it and every later one do not. Reads still work, so {@code close()} after the crash
 * changes nothing.
 */
public final class CuttingStorage implements StorageProvider {
  /** Thrown where the process "died". */
  public static final class Crash extends IOException {
    private static final long serialVersionUID = 1L;

    Crash(int at) {
      super("simulated crash at operation " + at);
    }
  }

  private final int cutAt;
  private int count;
  private boolean dead;

  public CuttingStorage(int cutAt) {
    this.cutAt = cutAt;
  }

  /** Operations counted so far. */
  public int count() {
    return count;
  }

  public boolean crashed() {
    return dead;
  }

  private void step() throws Crash {
    if (dead) {
      throw new Crash(cutAt);
    }
    if (count++ == cutAt) {
      dead = true;
      throw new Crash(cutAt);
    }
  }

  @Override
  public Storage open(Path path, Access access) throws IOException {
    return new Cut(FILES.open(path, access));
  }

  @Override
  public Storage create(Path path) throws IOException {
    step();
    return new Cut(FILES.create(path));
  }

  @Override
  public void move(Path from, Path to) throws IOException {
    step();
    FILES.move(from, to);
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    step();
    FILES.link(link, existing);
  }

  @Override
  public void delete(Path path) throws IOException {
    step();
    FILES.delete(path);
  }

  private final class Cut implements Storage {
    private final Storage inner;

    Cut(Storage inner) {
      this.inner = inner;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return inner.read(dst, position);
    }

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
      step();
      inner.write(src, position);
    }

    @Override
    public long size() throws IOException {
      return inner.size();
    }

    @Override
    public void truncate(long size) throws IOException {
      step();
      inner.truncate(size);
    }

    @Override
    public void force() throws IOException {
      step();
      inner.force();
    }

    @Override
    public String name() {
      return inner.name();
    }

    @Override
    public void close() throws IOException {
      inner.close();
    }
  }
}
