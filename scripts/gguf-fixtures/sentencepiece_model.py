"""Writes DIR/tokenizer.model, a SentencePiece model with the pieces of DIR/tokenizer.json (ids kept), so that
llama.cpp's convert_hf_to_gguf.py can write the vocabulary of a tiny test model whose tokenizer it would otherwise
refuse (its Gemma 3 and Phi-3 converters read tokenizer.model, or hash a BPE pre-tokenizer they must know).
Only the vocabulary step of the conversion sees this file: tensors and hyperparameters are converted as they are.

    python3 sentencepiece_model.py DIR          (inside the llama-cpp chroot: its sentencepiece checks the file)
"""
import json
import re
import struct
import sys
from pathlib import Path

d = Path(sys.argv[1])
tok = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
pieces = {i: p for p, i in tok["model"]["vocab"].items()}
special = {}
for a in tok.get("added_tokens", []):
    pieces[a["id"]] = a["content"]
    special[a["id"]] = a.get("special", False)
unk = tok["model"].get("unk_token")
byte_fallback = bool(tok["model"].get("byte_fallback"))
unk_id = next((i for i, p in pieces.items() if p == unk), 0)
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6   # ModelProto.SentencePiece.Type


# sentencepiece_model.proto written by hand: the chroot's sentencepiece has no protobuf runtime for its _pb2 module.
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


model = bytearray()
ids = {}
for i in range(max(pieces) + 1):
    text = pieces.get(i, f"[PAD{i}]")
    ids.setdefault(text, i)
    if i == unk_id:
        kind = UNKNOWN
    elif special.get(i):
        kind = CONTROL
    elif byte_fallback and re.fullmatch(r"<0x[0-9A-F]{2}>", text):
        kind = BYTE
    else:
        kind = NORMAL
    piece = field(1, 2, text.encode("utf-8")) + field(2, 5, struct.pack("<f", -float(i))) + field(3, 0, varint(kind))
    model += field(1, 2, piece)
trainer = (field(3, 0, varint(2))                     # model_type BPE
           + field(4, 0, varint(max(pieces) + 1))     # vocab_size
           + field(35, 0, varint(int(byte_fallback)))
           + field(40, 0, varint(unk_id))
           + field(41, 0, varint(ids.get("<bos>", ids.get("<s>", -1))))
           + field(42, 0, varint(ids.get("<eos>", ids.get("</s>", -1))))
           + field(43, 0, varint(ids.get("<pad>", -1))))
normalizer = field(1, 2, b"identity") + field(3, 0, varint(0))   # no normalization, no dummy prefix
model += field(2, 2, trainer) + field(3, 2, normalizer)
(d / "tokenizer.model").write_bytes(bytes(model))

import sentencepiece   # the converter's own check: the file must load
sp = sentencepiece.SentencePieceProcessor()
sp.LoadFromFile(str(d / "tokenizer.model"))
print(f"{d}/tokenizer.model: {sp.vocab_size()} pieces")
