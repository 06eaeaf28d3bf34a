#!/usr/bin/env python3
"""A flood of abandoned calls against the sample application (docs/operations.md, "Soak run").

Posts to POST /api/chat (non-streaming) and hangs up before the answer comes: some at once, some after a random
0.2 to 2 s, so that requests are abandoned while queued and while decoding. Runs alongside `specula loadtest --url`;
the server must drop each abandoned request (its engine's in-flight count returns to 0 and the load test's answers stay
correct). Prints what it sent and what status lines it saw before hanging up.

usage: abandoned-calls.py URL SECONDS [CONCURRENT] [MAX_TOKENS]
"""
import json
import random
import socket
import sys
import threading
import time
from urllib.parse import urlparse

url = urlparse(sys.argv[1])
seconds = float(sys.argv[2])
concurrent = int(sys.argv[3]) if len(sys.argv) > 3 else 8
max_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 256
host, port = url.hostname, url.port or 80
counts = {"sent": 0, "closed_at_once": 0, "closed_later": 0, "status_seen": {}, "connect_errors": 0}
lock = threading.Lock()
end = time.time() + seconds


def one(rng):
    body = json.dumps({"prompt": "Abandoned call %d: it was a dark and stormy night, and" % rng.randrange(10**6),
                       "options": {"maxTokens": max_tokens, "temperature": 0}}).encode()
    request = ("POST /api/chat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (host, len(body))).encode() + body
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError:
        with lock:
            counts["connect_errors"] += 1
        return
    try:
        s.sendall(request)
        with lock:
            counts["sent"] += 1
        if rng.random() < 0.3:
            with lock:
                counts["closed_at_once"] += 1
            return
        s.settimeout(rng.uniform(0.2, 2.0))
        try:
            first = s.recv(64)
            line = first.split(b"\r\n", 1)[0].decode("ascii", "replace") if first else "(nothing)"
        except socket.timeout:
            line = "(no answer yet)"
        with lock:
            counts["closed_later"] += 1
            counts["status_seen"][line] = counts["status_seen"].get(line, 0) + 1
    finally:
        s.close()


def client(seed):
    rng = random.Random(seed)
    while time.time() < end:
        one(rng)
        time.sleep(rng.uniform(0.0, 0.3))


threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrent)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("abandoned calls: %d sent, %d closed at once, %d closed after 0.2-2 s, %d connection errors" % (
    counts["sent"], counts["closed_at_once"], counts["closed_later"], counts["connect_errors"]))
for line, n in sorted(counts["status_seen"].items(), key=lambda kv: -kv[1]):
    print("  %6d  %s" % (n, line))
