import random, sys
WORDS = ["north", "river", "stone", "lamp", "violin", "fog", "cab", "street", "pipe",
         "clock", "door", "window", "garden", "bridge", "letter", "key"]
def text(seed, lines):
    r = random.Random(seed); out = []
    for _ in range(lines):
        w = r.randrange(16); n = 8 + r.randrange(12); line = []
        for _ in range(n):
            line.append(WORDS[w]); w = (5 * w + 3) % 16
        out.append(" ".join(line) + ".")
    return "\n\n".join(out) + "\n"
seed, lines, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
open(path, "w").write(text(seed, lines))
