package io.vdisk.engine.sr;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A VDI's chain held with its VDI lock (shared to read, exclusive to write) until closed. */
final class LockedDisk implements VirtualDisk {
  private final DiskChain chain;
  private final SrLock lock;

  LockedDisk(DiskChain chain, SrLock lock) {
    this.chain = chain;
    this.lock = lock;
  }

  @Override
  public long size() {
    return chain.size();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    chain.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    chain.write(offset, src);
  }

  @Override
  public void writeZeros(long offset, long length) throws IOException {
    chain.writeZeros(offset, length);
  }

  @Override
  public void flush() throws IOException {
    chain.flush();
  }

  @Override
  public List<Extent> extents(long from, long to) throws IOException {
    return chain.extents(from, to);
  }

  @Override
  public boolean isReadOnly() {
    return chain.isReadOnly();
  }

  @Override
  public void close() throws IOException {
    try {
      chain.close();
    } finally {
      lock.close();
    }
  }
}
