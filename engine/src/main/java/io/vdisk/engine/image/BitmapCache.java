package io.vdisk.engine.image;

import io.vdisk.vhd.SectorBitmap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An image's sector bitmaps in memory: the ones changed since the last flush (kept until written)
 * and a bounded LRU of ones read. Not thread-safe: {@link VhdImage} guards it with its lock.
 */
final class BitmapCache {
  /** Dirty bitmaps held before the image flushes by itself. */
  static final int DIRTY_LIMIT = 4096;

  private static final int CACHE_LIMIT = 2048;

  private final Map<Integer, SectorBitmap> dirty = new HashMap<>();
  private final Map<Integer, SectorBitmap> clean =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, SectorBitmap> e) {
          return size() > CACHE_LIMIT;
        }
      };

  /** The block's bitmap if held, else null. */
  SectorBitmap get(int block) {
    SectorBitmap b = dirty.get(block);
    return b != null ? b : clean.get(block);
  }

  /** A bitmap just read from the file. */
  void putRead(int block, SectorBitmap b) {
    clean.put(block, b);
  }

  /** A changed bitmap, to be written at the next flush. */
  void putChanged(int block, SectorBitmap b) {
    dirty.put(block, b);
    clean.put(block, b);
  }

  boolean hasChanged() {
    return !dirty.isEmpty();
  }

  boolean overLimit() {
    return dirty.size() > DIRTY_LIMIT;
  }

  /** The changed bitmaps, by block, for writing. */
  Map<Integer, SectorBitmap> changed() {
    return dirty;
  }

  /** After the changed bitmaps are written and fsynced. */
  void written() {
    dirty.clear();
  }

  void forget(int block) {
    dirty.remove(block);
    clean.remove(block);
  }
}
