package io.vdisk.engine;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A {@link StorageProvider} that passes everything through and records, per file, each write,
 * truncate and fsync, so a test can rebuild the file as it would be after a crash at any point: in
 * the kill -9 model (every issued write landed) or the power-loss model (everything up to the last
 * fsync, plus an arbitrary subset of the writes since).
 */
final class RecordingStorage implements StorageProvider {
  sealed interface Op permits Write, Truncate, Force {}

  record Write(long position, byte[] data) implements Op {}

  record Truncate(long size) implements Op {}

  record Force() implements Op {}

  private final Path recorded;
  final List<Op> ops = new ArrayList<>();

  RecordingStorage(Path recorded) {
    this.recorded = recorded;
  }

  @Override
  public Storage open(Path path, Access access) throws IOException {
    Storage s = FILES.open(path, access);
    return path.equals(recorded) ? new Recorder(s) : s;
  }

  @Override
  public Storage create(Path path) throws IOException {
    Storage s = FILES.create(path);
    return path.equals(recorded) ? new Recorder(s) : s;
  }

  /** The file after the first {@code cut} operations, all of them landed. */
  byte[] afterKill(byte[] before, int cut) {
    byte[] f = before.clone();
    for (int i = 0; i < cut; i++) {
      f = apply(f, ops.get(i));
    }
    return f;
  }

  /**
   * The file after a power loss at {@code cut}: everything up to the last fsync before it, then a
   * random subset of the later writes (sector-atomic, in any order).
   */
  byte[] afterPowerLoss(byte[] before, int cut, Random rnd) {
    int lastForce = -1;
    for (int i = 0; i < cut; i++) {
      if (ops.get(i) instanceof Force) {
        lastForce = i;
      }
    }
    byte[] f = afterKill(before, lastForce + 1);
    for (int i = lastForce + 1; i < cut; i++) {
      Op op = ops.get(i);
      if (op instanceof Write w) {
        for (int s = 0; s < w.data.length; s += 512) {
          if (rnd.nextBoolean()) {
            int n = Math.min(512, w.data.length - s);
            f = apply(f, new Write(w.position + s, Arrays.copyOfRange(w.data, s, s + n)));
          }
        }
      } else if (rnd.nextBoolean()) {
        f = apply(f, op);
      }
    }
    return f;
  }

  private static byte[] apply(byte[] f, Op op) {
    if (op instanceof Write w) {
      long end = w.position + w.data.length;
      byte[] out = end > f.length ? Arrays.copyOf(f, (int) end) : f;
      System.arraycopy(w.data, 0, out, (int) w.position, w.data.length);
      return out;
    }
    if (op instanceof Truncate t && t.size < f.length) {
      return Arrays.copyOf(f, (int) t.size);
    }
    return f;
  }

  private final class Recorder implements Storage {
    private final Storage inner;

    Recorder(Storage inner) {
      this.inner = inner;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return inner.read(dst, position);
    }

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
      byte[] data = new byte[src.remaining()];
      src.duplicate().get(data);
      ops.add(new Write(position, data));
      inner.write(src, position);
    }

    @Override
    public long size() throws IOException {
      return inner.size();
    }

    @Override
    public void truncate(long size) throws IOException {
      ops.add(new Truncate(size));
      inner.truncate(size);
    }

    @Override
    public void force() throws IOException {
      ops.add(new Force());
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
