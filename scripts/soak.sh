#!/usr/bin/env bash
# The soak run of the chat sample (docs/operations.md, "Soak run"): streaming clients with early disconnects
# (`specula loadtest --url`) and a flood of abandoned /api/chat calls (scripts/abandoned-calls.py) against one sample
# process, after a warm-up of the same mix. Prints the server's RSS and heap after a full GC before and after, the load
# average every minute, and the server's log lines at WARN or above.
# Memory: the server runs with Native Memory Tracking (summary) and MALLOC_ARENA_MAX=2 (as samples/chat/run.sh
# does); after the warm-up (long enough for the JIT to settle: 180 s by default) the script takes an
# NMT baseline and a `pmap -x`, and after the soak the NMT diff against it and another `pmap -x`; RSS and the thread
# count are logged every minute. So the soak's drift is growth in steady state, after start-up and JIT warm-up.
# MALLOC_ARENA_MAX= (set and empty) runs the server with glibc's default arenas instead.
#   ./mvnw -B -q -pl cli,samples/chat -am package -DskipTests
#   scripts/soak.sh [SECONDS=600] [CLIENTS=32] [PORT=18090] [WARMUP_SECONDS=180] [FLOODERS=8]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
clients=${2:-32}
port=${3:-18090}
warmup=${4:-180}
flooders=${5:-8}
delay=${FLOOD_DELAY:-30}
url=http://127.0.0.1:$port
out=${SOAK_OUT:-$root/target/soak}
mkdir -p "$out"

cd "$root/samples/chat"
# glibc gives threads that allocate concurrently arenas of their own (up to 8 per core), which keep freed memory;
# two arenas bound that (docs/operations.md, "Memory").
arenas=${MALLOC_ARENA_MAX-2}
echo "MALLOC_ARENA_MAX=${arenas:-unset, the default of glibc}"
env -u MALLOC_ARENA_MAX ${arenas:+MALLOC_ARENA_MAX=$arenas} SPECULA_SAMPLE_MODELS=$root/samples/models \
  java --add-modules jdk.incubator.vector -Dai.djl.offline=true \
  ${SPECULA_JAVA_OPTS:--Xmx1g -XX:NativeMemoryTracking=summary} -jar target/specula-sample-chat.jar --server.address=127.0.0.1 --server.port="$port" \
  --specula.sample.benchmark.enabled=false >"$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; kill $monitor 2>/dev/null || true' EXIT
cd "$root"
until curl -sf "$url/actuator/health" >/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "server exited"; tail -50 "$out/server.log"; exit 1; }
  sleep 2
done
echo "server pid $pid on $url"

(while true; do
  echo "$(date -u +%H:%M:%S) $(uptime | sed 's/.*load/load/'); $(grep VmRSS /proc/$pid/status | tr -s ' '); threads $(ls /proc/$pid/task | wc -l)"
  sleep 60
done) >"$out/load.log" &
monitor=$!

memory() { # after a full GC: RSS and the heap in use
  jcmd $pid GC.run >/dev/null
  sleep 2
  echo "$1: $(grep VmRSS /proc/$pid/status | tr -s ' ')"
  jcmd $pid GC.heap_info | grep -E "garbage-first heap|used" | head -1 | sed 's/^ */  heap: /'
  echo "  threads: $(ls /proc/$pid/task | wc -l); $(grep -E 'RssAnon|RssFile' /proc/$pid/status | tr -s ' \n' ' ')"
  pmap -x $pid >"$out/pmap-$2.txt" 2>&1 || true
  # With SPECULA_JAVA_OPTS="-Xmx1g -XX:NativeMemoryTracking=summary": what the JVM itself has committed, by category
  if jcmd $pid VM.native_memory summary >"$out/nmt-$2.txt" 2>&1 && grep -q "Total:" "$out/nmt-$2.txt"; then
    grep -E "^Total:|^-  *(Java Heap|Class|Thread|Code|GC|Compiler|Internal|Other|Symbol|Native Memory Tracking|Arena Chunk|Metaspace)" \
      "$out/nmt-$2.txt" | sed 's/^/  nmt: /'
  fi
}

mix() { # the mix for $1 seconds
  # The flood starts once the load test has its reference answers (about 8 x 2 s here): started together, the flood
  # fills the queue with requests (most of them stay connected for 0.2-2 s) and the references wait it out.
  # It ends 15 s before the load test, so that the load test's final look at the server finds it idle.
  (sleep "$delay"; python3 scripts/abandoned-calls.py "$url" $(($1 > delay + 30 ? $1 - delay - 15 : 15)) "$flooders" 256) \
    >"$out/abandoned-$2.log" 2>&1 &
  local flood=$!
  cli/specula loadtest --url "$url" --server-pid $pid --clients "$clients" --seconds "$1" --disconnect-fraction 0.2 \
    --max-tokens 32 >"$out/loadtest-$2.log" 2>&1 && status=0 || status=$?
  wait $flood
  echo "loadtest exit status $status"
}

uptime
echo "== warm-up ($warmup s)"; mix "$warmup" warmup; cat "$out/loadtest-warmup.log" "$out/abandoned-warmup.log"
memory "after warm-up" warmup
jcmd $pid VM.native_memory baseline >/dev/null 2>&1 || true
echo "== soak ($seconds s): $(uptime)"; mix "$seconds" soak; cat "$out/loadtest-soak.log" "$out/abandoned-soak.log"
echo "after the soak: $(uptime)"
curl -s "$url/actuator/specula" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("serving:", json.dumps(d.get("serving")))'
memory "after the soak" soak
# How much of that RSS is malloc memory that is free but kept by glibc (returned to the system by the trim; done only
# at the end, as a trim at the baseline would show up as growth when that memory is used again).
echo "after the soak, glibc trim: $(jcmd $pid System.trim_native_heap 2>&1 | grep -i rss | tr -s ' ')"
echo "after the trim: $(grep VmRSS /proc/$pid/status | tr -s ' ')"
if jcmd $pid VM.native_memory summary.diff >"$out/nmt-diff.txt" 2>&1 && grep -q "Total:" "$out/nmt-diff.txt"; then
  echo "== NMT against the baseline after the warm-up (committed; + growth since)"
  grep -E "^Total:|^-  *[A-Z]" "$out/nmt-diff.txt" | sed 's/^/  /'
fi
echo "== load average during the run"; cat "$out/load.log"
echo "== server log lines at WARN or above (after start-up)"
grep -nE " (WARN|ERROR) |Exception" "$out/server.log" | grep -v "Starting\|Started" | head -40 || echo "(none)"
grep -cE " (WARN|ERROR) " "$out/server.log" || true
