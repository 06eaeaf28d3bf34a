#!/usr/bin/env python3
"""Writes a random Llama-architecture model directory (config.json, generation_config.json, model.safetensors and a
given tokenizer), for benchmarks: only speed is meaningful on it. Run with PyTorch and safetensors, e.g. in the sid
chroot of ../shared/tools/llama-cpp (scripts/make-bench-models.sh does):

    ../shared/tools/llama-cpp/run.sh python3 $PWD/scripts/make-random-llama.py /tmp/bench/llama1b \\
        --tokenizer /tmp/bench/llama3-tokenizer --llama3-rope --drafter-layers 2 --damping 0.1

The defaults are Llama-3.2-1B's config (16 layers, hidden 2048, MLP 8192, 32 heads, 8 KV heads, head_dim 64, vocab
128256, tied embeddings, rope_theta 5e5 with llama3 rope scaling), in BF16. Weights are N(0, 0.02) as transformers
initialises them, norms 1.

With --drafter-layers N it writes OUT-target and OUT-drafter instead of OUT: the drafter is the target's first N
layers (same embedding, norm and head), and the target's later layers have their output projections (o_proj,
down_proj) scaled by --damping, so they move its predictions a little and the drafter is often, not always, right
(as benchmarks/.../TinyPairs does for the tiny pairs).
"""
import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layers", type=int, default=16)
p.add_argument("--hidden", type=int, default=2048)
p.add_argument("--intermediate", type=int, default=8192)
p.add_argument("--heads", type=int, default=32)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--vocab", type=int, default=128256)
p.add_argument("--max-positions", type=int, default=131072)
p.add_argument("--tokenizer", required=True, help="folder with tokenizer.json and tokenizer_config.json")
p.add_argument("--bos", type=int, default=128000)
p.add_argument("--eos", type=int, nargs="+", default=[128001, 128008, 128009])
p.add_argument("--rope-theta", type=float, default=500000.0)
p.add_argument("--llama3-rope", action="store_true", help="Llama 3.x rope_scaling (factor 32, 8192 original)")
p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
p.add_argument("--drafter-layers", type=int, default=0)
p.add_argument("--damping", type=float, default=1.0)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[a.dtype]
gen = torch.Generator().manual_seed(a.seed)


def matrix(rows, cols):
    return (torch.randn(rows, cols, generator=gen) * 0.02).to(dtype)


def ones(n):
    return torch.ones(n, dtype=dtype)


q, kv, d, ff = a.heads * a.head_dim, a.kv_heads * a.head_dim, a.hidden, a.intermediate
tensors = {"model.embed_tokens.weight": matrix(a.vocab, d), "model.norm.weight": ones(d)}
for i in range(a.layers):
    pre = f"model.layers.{i}."
    damp = a.damping if a.drafter_layers and i >= a.drafter_layers else 1.0
    tensors[pre + "input_layernorm.weight"] = ones(d)
    tensors[pre + "post_attention_layernorm.weight"] = ones(d)
    tensors[pre + "self_attn.q_proj.weight"] = matrix(q, d)
    tensors[pre + "self_attn.k_proj.weight"] = matrix(kv, d)
    tensors[pre + "self_attn.v_proj.weight"] = matrix(kv, d)
    tensors[pre + "self_attn.o_proj.weight"] = (matrix(d, q).float() * damp).to(dtype)
    tensors[pre + "mlp.gate_proj.weight"] = matrix(ff, d)
    tensors[pre + "mlp.up_proj.weight"] = matrix(ff, d)
    tensors[pre + "mlp.down_proj.weight"] = (matrix(d, ff).float() * damp).to(dtype)


def write(out, layers):
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": False,
        "attention_dropout": 0.0, "bos_token_id": a.bos, "eos_token_id": a.eos, "head_dim": a.head_dim,
        "hidden_act": "silu", "hidden_size": d, "initializer_range": 0.02, "intermediate_size": ff,
        "max_position_embeddings": a.max_positions, "mlp_bias": False, "num_attention_heads": a.heads,
        "num_hidden_layers": layers, "num_key_value_heads": a.kv_heads, "pretraining_tp": 1, "rms_norm_eps": 1e-5,
        "rope_theta": a.rope_theta, "tie_word_embeddings": True, "torch_dtype": a.dtype, "use_cache": True,
        "vocab_size": a.vocab,
    }
    if a.llama3_rope:
        config["rope_scaling"] = {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": a.bos, "eos_token_id": a.eos}, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.tokenizer, name), os.path.join(out, name))
    kept = {k: v for k, v in tensors.items()
            if not k.startswith("model.layers.") or int(k.split(".")[2]) < layers}
    save_file(kept, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    n = sum(t.numel() for t in kept.values())
    print(f"wrote {out}: {layers} layers, {n / 1e9:.3f} B parameters, {a.dtype}")


if a.drafter_layers:
    write(a.out + "-target", a.layers)
    write(a.out + "-drafter", a.drafter_layers)
else:
    write(a.out, a.layers)
