package io.specula.sample.chat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.specula.speculative.policy.DraftPolicy;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The sample uses the starter as an application would: through its public API only, never the engine's internals.
 * The public API (docs/architecture.md) is {@code io.specula} (the errors a caller may see, {@code ProcessMemory}),
 * {@code io.specula.chat} (the Spring AI model, its options and metadata keys), {@code io.specula.autoconfigure}
 * (properties, endpoint, meters) and {@link DraftPolicy}, the type of the {@code draftPolicy} option.
 */
class PublicApiTest {

    static final DescribedPredicate<JavaClass> PUBLIC_API = new DescribedPredicate<>("Specula's public API") {
        @Override
        public boolean test(JavaClass c) {
            String pkg = c.getPackageName();
            return pkg.equals("io.specula") || pkg.startsWith("io.specula.chat")
                    || pkg.startsWith("io.specula.autoconfigure") || pkg.startsWith("io.specula.sample")
                    || c.isEquivalentTo(DraftPolicy.class);
        }
    };

    @Test
    void theSampleUsesOnlyThePublicApi() {
        JavaClasses sample = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.specula.sample");
        noClasses().that()
            .resideInAPackage("io.specula.sample..")
            .should()
            .dependOnClassesThat(JavaClass.Predicates.resideInAPackage("io.specula..").and(DescribedPredicate.not(PUBLIC_API)))
            .check(sample);
    }
}
