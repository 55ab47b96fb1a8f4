package io.vdisk.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine's layers, kept by the compiler's view of the classes: {@code io} (bytes, locks,
 * publishing) knows nothing above it, {@code image} (one VHD file) knows only {@code io} and the
 * pure format, and the XVA code never reaches into the SR. {@link FileOpsTest} keeps the rule that
 * only {@code io} touches the file system.
 */
class LayersTest {
  static JavaClasses engine;

  @BeforeAll
  static void load() {
    engine =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.vdisk.engine");
  }

  @Test
  void ioKnowsNothingAboveIt() {
    noClasses()
        .that()
        .resideInAPackage("io.vdisk.engine.io..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.vdisk.engine",
            "io.vdisk.engine.image..",
            "io.vdisk.engine.sr..",
            "io.vdisk.engine.xva..",
            "io.vdisk.vhd..")
        .allowEmptyShould(false)
        .check(engine);
  }

  @Test
  void imageKnowsOnlyIoAndTheFormat() {
    noClasses()
        .that()
        .resideInAPackage("io.vdisk.engine.image..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.vdisk.engine", "io.vdisk.engine.sr..", "io.vdisk.engine.xva..")
        .allowEmptyShould(false)
        .check(engine);
  }

  @Test
  void xvaNeverReachesIntoTheSr() {
    noClasses()
        .that()
        .resideInAPackage("io.vdisk.engine.xva..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.vdisk.engine.sr..")
        .allowEmptyShould(false)
        .check(engine);
  }

  @Test
  void theEngineNeverReachesUp() {
    noClasses()
        .that()
        .resideInAPackage("io.vdisk.engine..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.vdisk.tools..", "io.vdisk.fuse..", "io.vdisk.bench..")
        .allowEmptyShould(false)
        .check(engine);
  }
}
