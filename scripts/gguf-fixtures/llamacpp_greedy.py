# Runs inside the llama-cpp tool's chroot (llama-server; no network but loopback). llama-server's greedy ids
# (temperature 0, f32 KV cache, flash attention off, one thread) for a GGUF file on one prompt, with the BANNED ids
# (end of generation) given a logit bias of minus infinity. Writes one JSON file.
#
#   python3 llamacpp_greedy.py MODEL.gguf OUT.json '[2,143,...]' TOKENS '[BANNED,...]'
import json
import subprocess
import sys
import time
import urllib.request

model, out, prompt, tokens, banned = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), \
    json.loads(sys.argv[5])
port = 18191
server = subprocess.Popen(["llama-server", "-m", model, "--host", "127.0.0.1", "--port", str(port), "-t", "1",
                           "-tb", "1", "-c", "512", "-np", "1", "-fa", "off", "-ctk", "f32", "-ctv", "f32",
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
    body = {"prompt": prompt, "n_predict": tokens, "temperature": 0, "cache_prompt": False, "return_tokens": True,
            "seed": 0, "logit_bias": [[b, False] for b in banned]}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        ids = json.load(r)["tokens"]
    if len(ids) != tokens:
        raise SystemExit(f"{model}: expected {tokens} tokens, got {ids}")
finally:
    server.terminate()
    server.wait()

with open(out, "w") as f:
    json.dump({"llama_cpp": "llama-server b11669 /completion, temperature 0, end-of-generation ids banned, f32 KV "
                            "cache, flash attention off, 1 thread",
               "prompt": prompt, "banned": banned, "ids": ids}, f, indent=1)
    f.write("\n")
