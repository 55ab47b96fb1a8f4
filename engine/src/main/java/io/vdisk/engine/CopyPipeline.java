package io.vdisk.engine;

import io.vdisk.engine.io.Cancellation;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Copies pieces of data with reading and writing overlapped: one thread reads (and may drop a
 * piece, e.g. all zeros) into a small pool of direct buffers while the caller's thread writes the
 * previous ones, in order. Used by flatten (convert) and coalesce, where neither side alone keeps
 * two cores busy.
 */
final class CopyPipeline {
  private static final int BUFFERS = 4;

  /** A piece of the source: where it is and how long. */
  record Piece(long offset, int length) {}

  /** Fills {@code buf} (exactly {@code length} bytes) with a piece; false drops the piece. */
  @FunctionalInterface
  interface Source {
    boolean read(Piece piece, ByteBuffer buf) throws IOException;
  }

  @FunctionalInterface
  interface Sink {
    void write(Piece piece, ByteBuffer buf) throws IOException;
  }

  private record Filled(Piece piece, ByteBuffer buf) {}

  private static final Filled END = new Filled(null, null);

  private CopyPipeline() {}

  /** Copies every piece; returns the bytes written (pieces not dropped). */
  static long run(
      List<Piece> pieces, int maxPiece, Source source, Sink sink, Progress progress, long total)
      throws IOException {
    BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(BUFFERS);
    BlockingQueue<Filled> full = new ArrayBlockingQueue<>(BUFFERS + 1);
    for (int i = 0; i < BUFFERS; i++) {
      free.add(ByteBuffer.allocateDirect(maxPiece));
    }
    IOException[] failure = new IOException[1];
    RuntimeException[] bug = new RuntimeException[1];
    Thread reader =
        new Thread(
            () -> {
              try {
                for (Piece p : pieces) {
                  Cancellation.checkpoint();
                  ByteBuffer b = free.take();
                  b.clear().limit(p.length());
                  if (source.read(p, b)) {
                    b.flip();
                    full.put(new Filled(p, b));
                  } else {
                    free.put(b);
                  }
                }
              } catch (IOException e) {
                failure[0] = e;
              } catch (RuntimeException e) {
                bug[0] = e;
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                full.offer(END);
              }
            },
            "vdisk-copy-reader");
    reader.setDaemon(true);
    reader.start();
    long written = 0;
    try {
      while (true) {
        Filled f = full.take();
        if (f.piece() == null) { // END
          break;
        }
        Cancellation.checkpoint();
        sink.write(f.piece(), f.buf());
        written += f.piece().length();
        progress.update(f.piece().offset() + f.piece().length(), total);
        free.put(f.buf());
      }
      reader.join();
    } catch (InterruptedException e) {
      reader.interrupt();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("copy interrupted");
    } catch (IOException | RuntimeException e) {
      reader.interrupt();
      throw e;
    }
    if (failure[0] != null) {
      throw failure[0];
    }
    if (bug[0] != null) {
      throw bug[0];
    }
    return written;
  }
}
