package io.vdisk.engine.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Adapters between {@link Storage} and streams. */
public final class Storages {
  private Storages() {}

  /**
   * A stream that also takes whole buffers: a direct buffer goes to the file without the copy a
   * {@code byte[]} write costs (through the JDK's temporary direct buffer).
   */
  public interface BufferSink {
    /** Writes all of {@code src} after everything written so far. */
    void write(ByteBuffer src) throws IOException;
  }

  /**
   * Writes sequentially from offset 0; closing the stream does not close the storage (the caller
   * forces and closes it, in the order crash safety wants). The stream is a {@link BufferSink}.
   */
  public static OutputStream outputStream(Storage s) {
    return new StorageOutput(s);
  }

  private static final class StorageOutput extends OutputStream implements BufferSink {
    private final Storage s;
    private long pos;

    StorageOutput(Storage s) {
      this.s = s;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      s.write(ByteBuffer.wrap(b, off, len), pos);
      pos += len;
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
      int len = src.remaining();
      s.write(src, pos);
      pos += len;
    }
  }
}
