package io.specula.bench;

import io.specula.model.safetensors.DType;
import io.specula.model.safetensors.SafeTensorsWriter;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.nio.file.Path;
import java.util.Map;

/**
 * Target/drafter pairs built from the tiny fixtures so that speculation has something to gain: the drafter is the
 * target's first layers. Both come from one seeded spec (the fixtures seed every tensor by its name), so the drafter's
 * embeddings, final norm, output head and first {@code drafterLayers} layers are the target's own; the target's further
 * layers have their output projections (o_proj, down_proj) scaled by {@code damping}, so they change its predictions
 * a little and the drafter is often, not always, right.
 */
final class TinyPairs {

    record Pair(String name, Path target, Path drafter) {
    }

    private TinyPairs() {
    }

    static Pair write(Path root, String name, TinyModels.Family family, TokenizerKind tokenizer,
                      ChatTemplateKind template, int hidden, int intermediate, int layers, int drafterLayers,
                      float damping) {
        TinyModels.Spec[] spec = new TinyModels.Spec[1];
        Path target = TinyModelDirs.write(root.resolve(name + "-target"), family, tokenizer, template, s -> {
            spec[0] = s.hiddenSize(hidden).intermediateSize(intermediate).layers(layers).heads(8).kvHeads(4).seed(5)
                    .maxPositions(2048);
            return spec[0];
        });
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        Map<String, long[]> shapes = spec[0].shapes();
        for (Map.Entry<String, float[]> e : spec[0].weights().entrySet()) {
            float[] data = e.getValue();
            String n = e.getKey();
            if (n.startsWith("model.layers.") && (n.endsWith("o_proj.weight") || n.endsWith("down_proj.weight"))
                    && Integer.parseInt(n.split("\\.")[2]) >= drafterLayers) {
                data = data.clone();
                for (int i = 0; i < data.length; i++) {
                    data[i] *= damping;
                }
            }
            w.add(n, DType.F32, shapes.get(n), data);
        }
        w.writeSharded(target, Long.MAX_VALUE);
        Path drafter = TinyModelDirs.write(root.resolve(name + "-drafter"), family, tokenizer, template,
                s -> s.hiddenSize(hidden).intermediateSize(intermediate).layers(drafterLayers).heads(8).kvHeads(4)
                        .seed(5).maxPositions(2048));
        return new Pair(name, target, drafter);
    }
}
