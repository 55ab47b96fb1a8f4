package io.vdisk.engine.sr;

import io.vdisk.engine.DiskChain;
import io.vdisk.engine.Extent;
import io.vdisk.engine.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A VDI's chain held with its VDI lock (shared to read, exclusive to write) until closed; a writer
 * records each write in the VDI's CBT log, when it has one, before the write goes to the chain.
 */
final class LockedDisk implements VirtualDisk {
  private final DiskChain chain;
  private final SrLock lock;
  private final CbtLog.Tracker cbt;

  LockedDisk(DiskChain chain, SrLock lock, CbtLog.Tracker cbt) {
    this.chain = chain;
    this.lock = lock;
    this.cbt = cbt;
  }

  DiskChain chain() {
    return chain;
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
  public void transferTo(long offset, long length, WritableByteChannel target) throws IOException {
    chain.transferTo(offset, length, target);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    if (cbt != null) {
      VirtualDisk.checkRange(this, offset, src.remaining());
      cbt.written(offset, src.remaining());
    }
    chain.write(offset, src);
  }

  @Override
  public void writeZeros(long offset, long length) throws IOException {
    if (cbt != null) {
      VirtualDisk.checkRange(this, offset, length);
      cbt.written(offset, length);
    }
    chain.writeZeros(offset, length);
  }

  @Override
  public void flush() throws IOException {
    chain.flush();
    if (cbt != null) {
      cbt.flush();
    }
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
    try (lock;
        cbt) {
      chain.close();
    }
  }
}
