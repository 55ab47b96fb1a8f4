package io.vdisk.tools;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Only {@code io.vdisk.engine.io} opens files for writing, moves, links or deletes them: that is
 * where the crash tests' {@code StorageProvider} seam can cut them, and where the publish protocol
 * (temp name, fsync, rename, fsync the directory) is written once. The allow-list is short and each
 * entry says why.
 */
class FileOpsTest {
  /** Mutating or channel-opening calls on java.nio.file.Files. */
  private static final Set<String> FILES_METHODS =
      Set.of(
          "delete",
          "deleteIfExists",
          "move",
          "copy",
          "createLink",
          "createSymbolicLink",
          "createFile",
          "write",
          "writeString",
          "newOutputStream",
          "newByteChannel",
          "newBufferedWriter");

  /** Classes outside engine.io that may still do one of these, and why. */
  private static final Set<String> ALLOWED =
      Set.of(
          // A scratch file for a compressed XVA's disk, private to one mount and removed on close.
          "io.vdisk.engine.xva.XvaDisk",
          // The NBD server's listening Unix socket file: made by bind, removed on close.
          "io.vdisk.nbd.NbdServer",
          // Run by the build only: writes the man page and bash completion into target/.
          "io.vdisk.tools.Release");

  private static final ImportOption NO_TESTS =
      new ImportOption() {
        @Override
        public boolean includes(Location location) {
          return ImportOption.Predefined.DO_NOT_INCLUDE_TESTS.includes(location)
              && !location.contains("-tests.jar");
        }
      };

  /** {@code new FileOutputStream(FileDescriptor.out)} wraps stdout; it opens nothing. */
  private static boolean opensADescriptor(JavaAccess<?> a) {
    return a.getTarget()
            instanceof com.tngtech.archunit.core.domain.AccessTarget.CodeUnitAccessTarget t
        && t.getRawParameterTypes().size() == 1
        && t.getRawParameterTypes().get(0).isEquivalentTo(java.io.FileDescriptor.class);
  }

  @Test
  void onlyEngineIoTouchesTheFileSystem() {
    JavaClasses classes =
        new ClassFileImporter().withImportOption(NO_TESTS).importPackages("io.vdisk");
    DescribedPredicate<JavaAccess<?>> fileMutation =
        DescribedPredicate.describe(
            "a call that writes, moves, links or deletes a file",
            a -> {
              String owner = a.getTargetOwner().getName();
              String name = a.getTarget().getName();
              return (owner.equals("java.nio.file.Files") && FILES_METHODS.contains(name))
                  || (owner.equals("java.nio.channels.FileChannel") && name.equals("open"))
                  || (owner.equals("java.io.RandomAccessFile") && name.equals("<init>"))
                  || (owner.equals("java.io.FileOutputStream")
                      && name.equals("<init>")
                      && !opensADescriptor(a))
                  || (owner.equals("java.io.FileWriter") && name.equals("<init>"))
                  || (owner.equals("java.io.File")
                      && Set.of("delete", "renameTo", "createNewFile").contains(name));
            });
    noClasses()
        .that()
        .resideOutsideOfPackage("io.vdisk.engine.io..")
        .and(
            DescribedPredicate.describe(
                "are not allow-listed", c -> !ALLOWED.contains(c.getName().split("\\$", -1)[0])))
        .should()
        .accessTargetWhere(fileMutation)
        .allowEmptyShould(false)
        .check(classes);
  }
}
