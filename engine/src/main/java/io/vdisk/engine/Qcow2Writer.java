package io.vdisk.engine;

import io.vdisk.engine.io.Storage;
import io.vdisk.engine.io.StorageProvider;
import io.vdisk.engine.io.Zeros;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * A new qcow2 image (version 3, 64 KiB clusters, 16-bit refcounts, no backing file), the way a
 * XenServer disk reaches KVM and Proxmox: {@code convert -O qcow2} and {@code vdi-export
 * format=qcow2} write into one through {@link Converter}. Layout (qemu's {@code docs/interop/
 * qcow2.txt}): the header in cluster 0, the L1 table from cluster 1, then data and L2 clusters in
 * the order they are first written (parallel writers allocate under a lock, data goes to its
 * cluster without it), and at {@link #flush} the L2 tables, the L1 table, the refcount blocks and
 * table after everything, and the header last. Clusters never written stay unallocated (read as
 * zeros), and the parts of a cluster a write does not cover are holes of the file, so no cluster is
 * read back. Only new images are written: opening an existing qcow2 is not supported.
 */
public final class Qcow2Writer implements VirtualDisk {
  static final int CLUSTER_BITS = 16;
  static final int CLUSTER = 1 << CLUSTER_BITS;
  static final int L2_ENTRIES = CLUSTER / 8;
  static final int REFCOUNTS_PER_BLOCK = CLUSTER / 2;
  static final long COPIED = 1L << 63;
  static final int MAGIC = 0x514649fb; // "QFI\xfb"
  static final int HEADER_LENGTH = 104;

  private final Storage storage;
  private final long size;
  private final long[] l1; // host offset of each L2 table, 0 while none
  private final long[][] l2; // in memory until flush
  private final BitSet used = new BitSet(); // host clusters in use, for the refcounts
  private final int l1Clusters;
  private long next; // the next free host cluster's offset

  private Qcow2Writer(Storage storage, long size) {
    this.storage = storage;
    this.size = size;
    long perL2 = (long) CLUSTER * L2_ENTRIES;
    int l1Size = (int) Math.max(1, (size + perL2 - 1) / perL2);
    this.l1 = new long[l1Size];
    this.l2 = new long[l1Size][];
    this.l1Clusters = (l1Size * 8 + CLUSTER - 1) / CLUSTER;
    used.set(0, 1 + l1Clusters); // the header, the L1 table
    this.next = (long) CLUSTER * (1 + l1Clusters);
  }

  /** Creates {@code path} as an empty qcow2 image of {@code size} bytes. */
  public static Qcow2Writer create(StorageProvider p, Path path, long size) throws IOException {
    if (size < 0 || size > (1L << 55)) {
      throw new IllegalArgumentException("qcow2 size " + size);
    }
    Qcow2Writer w = new Qcow2Writer(p.create(path), size);
    w.flush();
    return w;
  }

  @Override
  public long size() {
    return size;
  }

  /** The host offset of virtual cluster {@code vc}, allocating it when {@code allocate}. */
  private synchronized long cluster(long vc, boolean allocate) {
    int i1 = (int) (vc / L2_ENTRIES);
    int i2 = (int) (vc % L2_ENTRIES);
    if (l2[i1] == null) {
      if (!allocate) {
        return 0;
      }
      l2[i1] = new long[L2_ENTRIES];
      l1[i1] = allocateCluster(); // where the table goes at flush
    }
    if (l2[i1][i2] == 0 && allocate) {
      l2[i1][i2] = allocateCluster();
    }
    return l2[i1][i2];
  }

  private long allocateCluster() {
    long at = next;
    used.set((int) (at / CLUSTER));
    next += CLUSTER;
    return at;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    VirtualDisk.checkRange(this, offset, dst.remaining());
    while (dst.hasRemaining()) {
      long within = offset % CLUSTER;
      int n = (int) Math.min(dst.remaining(), CLUSTER - within);
      ByteBuffer part = dst.slice().limit(n);
      long host = cluster(offset / CLUSTER, false);
      if (host == 0) {
        while (part.hasRemaining()) {
          part.put((byte) 0);
        }
      } else {
        storage.read(part, host + within);
        Zeros.fill(part);
      }
      dst.position(dst.position() + n);
      offset += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    VirtualDisk.checkRange(this, offset, src.remaining());
    while (src.hasRemaining()) {
      long within = offset % CLUSTER;
      int n = (int) Math.min(src.remaining(), CLUSTER - within);
      ByteBuffer part = src.slice().limit(n);
      storage.write(part, cluster(offset / CLUSTER, true) + within);
      src.position(src.position() + n);
      offset += n;
    }
  }

  /**
   * Writes the metadata: the L2 tables where they were allocated, the L1 table, new refcount
   * structures after everything (a later flush leaves the earlier ones unreferenced, refcount 0),
   * the file's length to the end of its last cluster, then the header; then forces it all.
   */
  @Override
  public synchronized void flush() throws IOException {
    for (int i = 0; i < l1.length; i++) {
      if (l2[i] != null) {
        ByteBuffer t = ByteBuffer.allocate(CLUSTER);
        for (long e : l2[i]) {
          t.putLong(e == 0 ? 0 : e | COPIED);
        }
        storage.write(t.flip(), l1[i]);
      }
    }
    ByteBuffer l1t = ByteBuffer.allocate(l1Clusters * CLUSTER);
    for (long e : l1) {
      l1t.putLong(e == 0 ? 0 : e | COPIED);
    }
    storage.write(l1t.clear(), CLUSTER);
    // the refcount structures count themselves: grow them until they cover everything
    long first = next / CLUSTER;
    long blocks = 0;
    long tableClusters = 0;
    while (true) {
      long total = first + blocks + tableClusters;
      long b = (total + REFCOUNTS_PER_BLOCK - 1) / REFCOUNTS_PER_BLOCK;
      long t = (b * 8 + CLUSTER - 1) / CLUSTER;
      if (b == blocks && t == tableClusters) {
        break;
      }
      blocks = b;
      tableClusters = t;
    }
    long tableAt = next;
    long blocksAt = next + tableClusters * CLUSTER;
    used.set((int) first, (int) (first + tableClusters + blocks));
    ByteBuffer table = ByteBuffer.allocate((int) (tableClusters * CLUSTER));
    ByteBuffer block = ByteBuffer.allocate(CLUSTER);
    for (long b = 0; b < blocks; b++) {
      table.putLong(blocksAt + b * CLUSTER);
      block.clear();
      for (int k = 0; k < REFCOUNTS_PER_BLOCK; k++) {
        long c = b * REFCOUNTS_PER_BLOCK + k;
        block.putShort(c <= Integer.MAX_VALUE && used.get((int) c) ? (short) 1 : 0);
      }
      storage.write(block.flip(), blocksAt + b * CLUSTER);
    }
    storage.write(table.clear(), tableAt);
    long end = blocksAt + blocks * CLUSTER;
    used.clear((int) first, (int) (first + tableClusters + blocks)); // recounted at the next flush
    if (storage.size() < end) {
      storage.truncate(end);
    }
    ByteBuffer h = ByteBuffer.allocate(HEADER_LENGTH + 8);
    h.putInt(MAGIC).putInt(3).putLong(0).putInt(0).putInt(CLUSTER_BITS).putLong(size);
    h.putInt(0).putInt(l1.length).putLong(CLUSTER).putLong(tableAt).putInt((int) tableClusters);
    h.putInt(0).putLong(0); // no snapshots
    h.putLong(0).putLong(0).putLong(0); // incompatible, compatible, autoclear features
    h.putInt(4).putInt(HEADER_LENGTH); // refcount order 4: 16-bit refcounts
    h.putInt(0).putInt(0); // end of the header extensions
    storage.write(h.flip(), 0);
    storage.force();
  }

  @Override
  public List<Extent> extents(long from, long to) throws IOException {
    VirtualDisk.checkRange(this, from, to - from);
    List<Extent> out = new ArrayList<>();
    for (long pos = from; pos < to; ) {
      long end = Math.min(to, (pos / CLUSTER + 1) * CLUSTER);
      Extent.Kind kind = cluster(pos / CLUSTER, false) == 0 ? Extent.Kind.ZERO : Extent.Kind.DATA;
      Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == kind) {
        out.set(out.size() - 1, new Extent(last.offset(), last.length() + end - pos, kind, -1));
      } else {
        out.add(new Extent(pos, end - pos, kind, -1));
      }
      pos = end;
    }
    return out;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public void close() throws IOException {
    storage.close();
  }
}
