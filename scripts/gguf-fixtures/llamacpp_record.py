# Runs inside the llama-cpp tool's chroot (python3, gguf-py, llama-server; no network but loopback).
# For one GGUF file: gguf-py's dequantized values of every tensor (SHA-256 of the float32 bytes, ggml row order,
# -0 counted as +0)
# and llama.cpp's greedy ids on the given prompts with its top-2 log-probabilities per step. Writes one JSON file.
#
#   python3 llamacpp_record.py MODEL.gguf IDS.gguf OUT.json '[[17,101,...],[...]]' TOKENS THREADS '[BANNED,...]'
#
# MODEL.gguf is hashed; the greedy runs use IDS.gguf, the same file with every token's text replaced by "[id]"
# (llama-server reports probabilities only for tokens that complete UTF-8 text), with the BANNED ids (the real
# vocabulary's end-of-generation tokens) given a logit bias of minus infinity.
import hashlib
import json
import subprocess
import sys
import time
import urllib.request

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

model, ids_model, out = sys.argv[1], sys.argv[2], sys.argv[3]
prompts, tokens, threads, banned = json.loads(sys.argv[4]), int(sys.argv[5]), sys.argv[6], json.loads(sys.argv[7])

reader = GGUFReader(model)
vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
tensors = {}
for t in reader.tensors:
    # + 0 turns -0 into +0: ggml's Q4_0 weight d (q - 8) is -0 at q = 8 for a negative d, Specula's +0
    values = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype="<f4") + np.float32(0)
    tensors[t.name] = {"type": t.tensor_type.name, "ne": [int(x) for x in t.shape],
                       "sha256": hashlib.sha256(values.tobytes()).hexdigest()}

port = 18181
server = subprocess.Popen(["llama-server", "-m", ids_model, "--host", "127.0.0.1", "--port", str(port), "-t", threads,
                           "-tb", threads, "-c", "512", "-np", "1", "-fa", "off", "-ctk", "f32", "-ctv", "f32",
                           "--no-warmup", "--seed", "0"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    break
        except Exception:
            time.sleep(0.1)
    else:
        raise SystemExit("llama-server did not start: " + server.stderr.read().decode())
    runs = []
    for p in prompts:
        ids = [x % vocab for x in p]
        body = {"prompt": ids, "n_predict": tokens, "temperature": 0, "cache_prompt": False, "return_tokens": True,
                "n_probs": 2, "seed": 0, "logit_bias": [[b, False] for b in banned]}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            res = json.load(r)
        steps = res["completion_probabilities"]
        if [s["id"] for s in steps] != res["tokens"] or len(res["tokens"]) != tokens:
            raise SystemExit(f"{model}: expected {tokens} tokens with a probability each, got {res}")
        gaps = []
        for s in steps:
            top = sorted((c["logprob"] for c in s["top_logprobs"]), reverse=True)
            gaps.append(top[0] - top[1] if len(top) > 1 else None)
        runs.append({"prompt": ids, "ids": res["tokens"], "top2_logprob_gaps": gaps})
finally:
    server.terminate()
    server.wait()

with open(out, "w") as f:
    json.dump({"llama_cpp": "llama-server /completion, temperature 0, end-of-generation ids banned, f32 KV cache, "
                            + "flash attention off, " + threads + " threads",
               "banned": banned, "runs": runs, "tensors": tensors}, f, indent=1, sort_keys=True)
    f.write("\n")
