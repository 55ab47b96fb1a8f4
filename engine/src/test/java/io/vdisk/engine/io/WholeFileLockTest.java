package io.vdisk.engine.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SR's and VDIs' lock files: who holds them is written where other hosts can read it, cleared
 * on release, and a taker waits for a holder that lets go. Two opens in one JVM conflict as two
 * processes do (OFD locks belong to the open, not the process).
 */
class WholeFileLockTest {
  @TempDir Path dir;

  @AfterEach
  void noWait() {
    LockWait.setLimit(Duration.ZERO);
    LockWait.onWait(m -> {});
  }

  private Path file() {
    return dir.resolve("locks").resolve("a.lock");
  }

  private List<Path> notes() throws Exception {
    try (Stream<Path> s = Files.list(file().getParent())) {
      return s.filter(p -> p.getFileName().toString().contains(".reader.")).toList();
    }
  }

  @Test
  void anExclusiveHolderIsNamedInTheFileAndClearedOnRelease() throws Exception {
    try (WholeFileLock l = WholeFileLock.take(file(), true, "VDI a", "host h pid 1: vdisk x")) {
      assertThat(l).isNotNull();
      assertThat(WholeFileLock.holderOf(file())).isEqualTo("host h pid 1: vdisk x");
      assertThat(WholeFileLock.take(file(), true, "VDI a", "second", Duration.ZERO)).isNull();
      assertThat(WholeFileLock.take(file(), false, "VDI a", "reader", Duration.ZERO)).isNull();
      assertThat(WholeFileLock.holders(file())).isEqualTo("in use by host h pid 1: vdisk x");
    }
    assertThat(Files.size(file())).as("no stale holder after release").isZero();
  }

  @Test
  void readersLeaveOneNoteEachAndTakeItAway() throws Exception {
    WholeFileLock a = WholeFileLock.take(file(), false, "VDI a", "reader one");
    WholeFileLock b = WholeFileLock.take(file(), false, "VDI a", "reader two");
    assertThat(notes()).hasSize(2);
    assertThat(WholeFileLock.take(file(), true, "VDI a", "writer", Duration.ZERO)).isNull();
    assertThat(WholeFileLock.holders(file()))
        .startsWith("read by ")
        .contains("reader one")
        .contains("reader two");
    a.close();
    assertThat(notes()).hasSize(1);
    b.close();
    assertThat(notes()).isEmpty();
    try (WholeFileLock w = WholeFileLock.take(file(), true, "VDI a", "writer", Duration.ZERO)) {
      assertThat(w).isNotNull();
    }
  }

  @Test
  void aNoteOfADeadProcessOfThisHostIsStaleAndRemoved() throws Exception {
    Files.createDirectories(file().getParent());
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path stale = file().resolveSibling("a.lock.reader." + Holders.host() + "." + gone.pid() + ".1");
    Files.writeString(stale, "host here pid dead: vdisk vm-export");
    Path elsewhere = file().resolveSibling("a.lock.reader.other-host.1.1");
    Files.writeString(elsewhere, "host other-host pid 1: vdisk vm-export since then");
    Files.createFile(file());
    assertThat(WholeFileLock.holders(file()))
        .isEqualTo("read by host other-host pid 1: vdisk vm-export since then");
    assertThat(stale).doesNotExist();
    assertThat(elsewhere).exists();
  }

  @Test
  void aTakerWaitsForTheHolderAndSaysOnceWhomItWaitsFor() throws Exception {
    List<String> told = new ArrayList<>();
    LockWait.onWait(told::add);
    WholeFileLock held = WholeFileLock.take(file(), true, "VDI a", "host h pid 1: vdisk vm-copy");
    CompletableFuture<WholeFileLock> waiter =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return WholeFileLock.take(file(), true, "VDI a", "me", Duration.ofSeconds(30));
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    Thread.sleep(300);
    assertThat(waiter).isNotDone();
    held.close();
    try (WholeFileLock got = waiter.get(10, TimeUnit.SECONDS)) {
      assertThat(got).isNotNull();
      assertThat(WholeFileLock.holderOf(file())).isEqualTo("me");
    }
    assertThat(told)
        .containsExactly("waiting up to 30 s for VDI a: in use by host h pid 1: vdisk vm-copy");
  }

  @Test
  void aWaitEndsInNullWhenTheHolderStays() throws Exception {
    try (WholeFileLock held = WholeFileLock.take(file(), false, "VDI a", "reader")) {
      long t0 = System.nanoTime();
      assertThat(WholeFileLock.take(file(), true, "VDI a", "me", Duration.ofMillis(400))).isNull();
      assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(400_000_000L);
      assertThat(held).isNotNull();
    }
  }
}
