# Oracle for "special tokens only where the chat template put them" (Specula issue 19, item 9), on transformers.
# Wrote core/src/test/resources/io/specula/tokenizer/special-tokens-in-messages.json. To run it with
# shared/tools/hf-reference (after its setup.sh): copy run.sh into an empty folder, copy this file there as
# hf_reference.py (run.sh runs the hf_reference.py of its own folder in the chroot), then
#   ./run.sh oracle MODEL_DIR conversations.json          (conversations.json: a JSON list of {"name", "messages"})
# Per conversation:
#   text:       apply_chat_template(tokenize=False, add_generation_prompt=True)      (transformers' rendering)
#   parse_ids:  tok(text, add_special_tokens=False): what apply_chat_template(tokenize=True) gives
#   text_ids:   the same text with the special tokens that came from message content tokenized as text. The template's
#               own special tokens are found by rendering again with every special-token string in the messages
#               replaced by as many U+E000 characters (an occurrence that is the same in both renders came from the
#               template). The text is then encoded in one pass by a tokenizer loaded with split_special_tokens=True
#               (special-token text is plain text; non-special added tokens such as Qwen's <think> are still
#               matched), the template's special tokens replaced by sentinel added tokens mapped back to their ids.
#   text_ids_by_segment: the same, encoding the text between template special tokens piece by piece: equal to
#               text_ids for byte-level BPE (Llama 3, Qwen) and Gemma 3, different for a Metaspace pre-tokenizer
#               with prepend_scheme "first" (Llama 2 style), which treats the start of each piece as the start of
#               the input: why the one-pass encoding is the reference.
import json, re, sys
from transformers import AutoTokenizer
from tokenizers import AddedToken

def oracle(d, conversations):
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    split = AutoTokenizer.from_pretrained(d, local_files_only=True, split_special_tokens=True)
    specials = sorted({t.content for t in tok.added_tokens_decoder.values() if t.special}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(s) for s in specials))
    split2 = AutoTokenizer.from_pretrained(d, local_files_only=True, split_special_tokens=True)
    sentinel, back_ids = {}, {}
    for t in tok.added_tokens_decoder.values():
        if t.special:
            sentinel[t.content] = "\ue001s%d\ue002" % len(sentinel)
            split2.add_tokens([AddedToken(sentinel[t.content], single_word=t.single_word, lstrip=t.lstrip,
                                          rstrip=t.rstrip, normalized=t.normalized, special=False)])
            back_ids[split2.convert_tokens_to_ids(sentinel[t.content])] = tok.convert_tokens_to_ids(t.content)
    out = []
    for conv in conversations:
        msgs = conv["messages"]
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        parse_ids = tok(text, add_special_tokens=False)["input_ids"]
        neutral = [dict(m, content=pattern.sub(lambda x: "\ue000" * len(x.group(0)), m["content"])) for m in msgs]
        text2 = tok.apply_chat_template(neutral, tokenize=False, add_generation_prompt=True)
        assert len(text2) == len(text), (len(text2), len(text))
        ids, pos = [], 0
        for m in pattern.finditer(text):
            a, b = m.span()
            if text2[a:b] != text[a:b]:
                continue  # from a message: stays in the text
            if a > pos:
                ids += split(text[pos:a], add_special_tokens=False)["input_ids"]
            ids.append(tok.convert_tokens_to_ids(m.group(0)))
            pos = b
        if pos < len(text):
            ids += split(text[pos:], add_special_tokens=False)["input_ids"]
        # Second oracle, valid for tokenizers whose pre-tokenizer treats the start of the input specially (Metaspace
        # prepend_scheme "first"): one pass over the whole text, the template's special tokens replaced by sentinel
        # added tokens (non-special, so split_special_tokens leaves them alone; same flags), mapped back afterwards.
        marked, pos, back = [], 0, {}
        for m in pattern.finditer(text):
            a, b = m.span()
            if text2[a:b] != text[a:b]:
                continue
            marked.append(text[pos:a])
            marked.append(sentinel[m.group(0)])
            pos = b
        marked.append(text[pos:])
        ids2 = [back_ids.get(i, i) for i in split2("".join(marked), add_special_tokens=False)["input_ids"]]
        out.append({"name": conv["name"], "messages": msgs, "text": text, "parse_ids": parse_ids, "text_ids": ids2,
                    "text_ids_by_segment": ids, "text_tokens": tok.convert_ids_to_tokens(ids2)})
    return out

a = sys.argv[2:]
conversations = json.load(open(a[1]))
print(json.dumps({"dir": a[0], "cases": oracle(a[0], conversations)}, ensure_ascii=False))
