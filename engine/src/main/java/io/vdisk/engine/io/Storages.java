package io.vdisk.engine.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Adapters between {@link Storage} and streams. */
public final class Storages {
  private Storages() {}

  /**
   * Writes sequentially from offset 0; closing the stream does not close the storage (the caller
   * forces and closes it, in the order crash safety wants).
   */
  public static OutputStream outputStream(Storage s) {
    return new OutputStream() {
      private long pos;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        s.write(ByteBuffer.wrap(b, off, len), pos);
        pos += len;
      }
    };
  }
}
