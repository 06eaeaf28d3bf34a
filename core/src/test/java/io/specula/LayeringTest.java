package io.specula;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

/**
 * No layer of the core imports a higher one (docs/architecture.md draws the same stack). Each layer may use the
 * layers below it and nothing above: errors at the bottom, then the kernels, the model files, the tokenizer, the
 * decoding primitives, speculative decoding, the tools that train and export models, the adaptive drafter, the engine
 * that owns a request, and the Spring AI binding on top. Inside speculative decoding the same holds for its parts: the
 * drafter, the verifier, the draft-length policy, the statistics, and the loop that uses them all.
 */
class LayeringTest {

    /** Bottom to top: each may use those before it. */
    static final List<String[]> CORE = List.of(
            new String[] {"Errors", "io.specula"},
            new String[] {"Kernels", "io.specula.kernel.."},
            new String[] {"Model files", "io.specula.model.."},
            new String[] {"Tokenizer", "io.specula.tokenizer.."},
            new String[] {"Decoding", "io.specula.generate.."},
            new String[] {"Speculative decoding", "io.specula.speculative.."},
            new String[] {"Training", "io.specula.training.."},
            new String[] {"GGUF export", "io.specula.gguf.."},
            new String[] {"Adaptive drafter", "io.specula.adaptive.."},
            new String[] {"Engine", "io.specula.engine.."},
            new String[] {"Spring AI binding", "io.specula.chat.."});

    static final List<String[]> SPECULATIVE = List.of(
            new String[] {"Drafter", "io.specula.speculative.drafter.."},
            new String[] {"Verifier", "io.specula.speculative.verify.."},
            new String[] {"Policy", "io.specula.speculative.policy.."},
            new String[] {"Statistics", "io.specula.speculative.stats.."},
            new String[] {"Loop", "io.specula.speculative"});

    static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.specula");
    }

    /** Each layer may access only the layers listed before it. */
    static LayeredArchitecture stack(List<String[]> layers) {
        LayeredArchitecture architecture = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (String[] layer : layers) {
            architecture = architecture.layer(layer[0]).definedBy(layer[1]);
        }
        for (int i = 0; i < layers.size(); i++) {
            String name = layers.get(i)[0];
            String[] below = layers.subList(0, i).stream().map(l -> l[0]).toArray(String[]::new);
            architecture = below.length == 0 ? architecture.whereLayer(name).mayNotAccessAnyLayer()
                    : architecture.whereLayer(name).mayOnlyAccessLayers(below);
        }
        return architecture;
    }

    @Test
    void noCoreLayerImportsAHigherOne() {
        stack(CORE).check(classes);
    }

    @Test
    void noPartOfSpeculativeDecodingImportsAHigherOne() {
        stack(SPECULATIVE).check(classes);
    }

    @Test
    void theStackNamesEveryPackage() {
        // A new package must be placed in the stack: every main class belongs to a layer.
        List<String> patterns = CORE.stream().map(l -> l[1]).toList();
        classes.stream().map(c -> c.getPackageName()).distinct().forEach(pkg -> {
            boolean placed = patterns.stream().anyMatch(p -> p.endsWith("..")
                    ? pkg.equals(p.substring(0, p.length() - 2)) || pkg.startsWith(p.substring(0, p.length() - 1))
                    : pkg.equals(p));
            if (!placed) {
                throw new AssertionError("package " + pkg + " is in no layer of " + Arrays.toString(patterns.toArray()));
            }
        });
    }
}
