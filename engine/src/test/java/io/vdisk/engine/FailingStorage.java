package io.vdisk.engine;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A {@link StorageProvider} whose {@code failAt}-th mutating operation (write, fsync, truncate,
 * create, rename, link, delete) fails once with an {@link IOException}, as a full disk does, and
 * every later one works: the process lives on to clean up after itself, unlike {@link
 * CuttingStorage}'s crash.
 */
public final class FailingStorage implements StorageProvider {
  private final int failAt;
  private int count;
  private boolean failed;

  public FailingStorage(int failAt) {
    this.failAt = failAt;
  }

  public int count() {
    return count;
  }

  public boolean failed() {
    return failed;
  }

  private void step() throws IOException {
    if (count++ == failAt) {
      failed = true;
      throw new IOException("No space left on device (simulated at operation " + failAt + ")");
    }
  }

  @Override
  public Storage open(Path path, Access access) throws IOException {
    return new Failing(FILES.open(path, access));
  }

  @Override
  public Storage create(Path path) throws IOException {
    step();
    return new Failing(FILES.create(path));
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

  private final class Failing implements Storage {
    private final Storage inner;

    Failing(Storage inner) {
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
