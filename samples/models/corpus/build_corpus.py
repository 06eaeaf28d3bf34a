#!/usr/bin/env python3
"""Rebuilds the training corpus under samples/models/corpus/{train,valid}/ from Debian packages.

Sources (all public domain; see docs/corpus.md):
  * Jane Austen's novels, from r-cran-janeaustenr (data/Rdata.rdb: zlib chunks of R serialisation, parsed here)
  * The Adventures of Sherlock Holmes, from golang-github-jdkato-prose-dev (testdata/sherlock.txt, Gutenberg #1661)

Usage: python3 samples/models/corpus/build_corpus.py [--debs DIR]
  Without --debs the packages are fetched with `apt-get download` (run `apt-get update` once first) into a
  temporary folder and unpacked there with `dpkg-deb -x`; nothing is installed.
Standard library only; the output is byte-for-byte reproducible.
"""
import argparse
import glob
import gzip
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

PACKAGES = ["r-cran-janeaustenr", "golang-github-jdkato-prose-dev"]
AUSTEN_DATA = "usr/lib/R/site-library/janeaustenr/data"
SHERLOCK = "usr/share/gocode/src/github.com/jdkato/prose/testdata/sherlock.txt"
# (R object name, output name). Mansfield Park is left out to keep the corpus under 4 MB.
AUSTEN_BOOKS = [
    ("prideprejudice", "austen-pride-and-prejudice"),
    ("sensesensibility", "austen-sense-and-sensibility"),
    ("emma", "austen-emma"),
    ("persuasion", "austen-persuasion"),
    ("northangerabbey", "austen-northanger-abbey"),
]
VALID_FRACTION = 0.05  # the last 5% of each book (whole paragraphs) is held out for validation


class RReader:
    """Just enough of R's XDR serialisation format (version 2 and 3) to read character vectors and lists."""

    def __init__(self, data):
        self.b = data
        self.p = 0
        self.refs = []

    def int(self):
        v = struct.unpack(">i", self.b[self.p:self.p + 4])[0]
        self.p += 4
        return v

    def top(self):
        if self.b[:2] != b"X\n":
            raise ValueError("not an XDR R serialisation")
        self.p = 2
        version = self.int()
        self.int()  # writer R version
        self.int()  # minimal reader version
        if version == 3:
            n = self.int()  # native encoding name
            self.p += n
        return self.obj()

    def obj(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr = flags & (1 << 9)
        has_tag = flags & (1 << 10)
        if kind in (254, 242, 253, 241):  # NILVALUE, EMPTYENV, GLOBALENV, BASEENV
            return None
        if kind == 255:  # REFSXP
            return self.refs[(flags >> 8) - 1]
        if kind == 1:  # SYMSXP
            name = self.obj()
            self.refs.append(name)
            return name
        if kind == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            s = self.b[self.p:self.p + n]
            self.p += n
            return s.decode("utf-8" if flags & (1 << 15 | 1 << 14) else "latin-1")
        if kind == 2:  # LISTSXP (pairlist)
            attr = self.obj() if has_attr else None
            tag = self.obj() if has_tag else None
            car = self.obj()
            cdr = self.obj()
            return [(tag, car)] + (cdr if isinstance(cdr, list) else [])
        n = self.int()
        if kind == 16 or kind == 19:  # STRSXP, VECSXP
            value = [self.obj() for _ in range(n)]
        elif kind in (10, 13):  # LGLSXP, INTSXP
            value = list(struct.unpack(">%di" % n, self.b[self.p:self.p + 4 * n]))
            self.p += 4 * n
        elif kind == 14:  # REALSXP
            value = list(struct.unpack(">%dd" % n, self.b[self.p:self.p + 8 * n]))
            self.p += 8 * n
        else:
            raise ValueError("unsupported R type %d" % kind)
        attrs = dict(self.obj()) if has_attr else {}
        if "names" in attrs:
            return dict(zip(attrs["names"], value))
        return value


def read_austen(root):
    """The novels as lists of lines, from R's lazy-load database (index .rdx, gzip; data .rdb, zlib chunks)."""
    data = os.path.join(root, AUSTEN_DATA)
    with open(os.path.join(data, "Rdata.rdx"), "rb") as f:
        index = RReader(gzip.decompress(f.read())).top()
    with open(os.path.join(data, "Rdata.rdb"), "rb") as f:
        db = f.read()
    books = {}
    for name, (offset, length) in index["variables"].items():
        chunk = db[offset:offset + length]
        books[name] = RReader(zlib.decompress(chunk[4:])).top()  # 4 bytes: uncompressed length
    return books


def read_sherlock(root):
    with open(os.path.join(root, SHERLOCK), encoding="utf-8-sig") as f:
        text = f.read().replace("\r\n", "\n")
    start = text.index("\n", text.index("*** START OF THIS PROJECT GUTENBERG EBOOK")) + 1
    end = text.index("*** END OF THIS PROJECT GUTENBERG EBOOK")
    body = text[start:end]
    body = re.sub(r"^Produced by .*$", "", body, count=1, flags=re.M)
    # Drop the table of contents: from the title page up to the first story.
    toc_start = body.index("SIR ARTHUR CONAN DOYLE")
    toc_end = body.index("ADVENTURE I. A SCANDAL IN BOHEMIA")
    body = body[:toc_start] + "by Sir Arthur Conan Doyle\n\n\n" + body[toc_end:]
    body = body.replace("THE ADVENTURES OF SHERLOCK HOLMES\n\nby\n\nby", "THE ADVENTURES OF SHERLOCK HOLMES\n\nby")
    return body.split("\n")


def paragraphs(lines):
    """Blank-line separated blocks; hard-wrapped prose is joined into one line, indented blocks (verse, letters'
    headers) keep their line breaks. Emphasis underscores (_word_) are removed."""
    out, block = [], []

    def flush():
        if not block:
            return
        if all(l[:1].isspace() for l in block):
            p = "\n".join(l.strip() for l in block)
        else:
            p = " ".join(l.strip() for l in block)
        p = re.sub(r"_([^_]*)_", r"\1", p).replace("_", "")
        p = re.sub(r"[ \t]+", " ", p).strip()
        if p:
            out.append(p)
        block.clear()

    for line in lines:
        line = (line or "").rstrip()
        if line:
            block.append(line)
        else:
            flush()
    flush()
    return out


def split(paras):
    total = sum(len(p) for p in paras)
    acc, cut = 0, len(paras)
    for i, p in enumerate(paras):
        if acc >= total * (1 - VALID_FRACTION):
            cut = i
            break
        acc += len(p)
    return paras[:cut], paras[cut:]


def fetch(tmp):
    subprocess.run(["apt-get", "download"] + PACKAGES, cwd=tmp, check=True)
    root = os.path.join(tmp, "root")
    for deb in sorted(glob.glob(os.path.join(tmp, "*.deb"))):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", help="a folder the packages are already unpacked into (skips apt-get download)")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or fetch(tmp)
        austen = read_austen(root)
        books = [(out, paragraphs(austen[name])) for name, out in AUSTEN_BOOKS]
        books.append(("doyle-adventures-of-sherlock-holmes", paragraphs(read_sherlock(root))))
    sizes = {"train": 0, "valid": 0}
    for part in sizes:
        os.makedirs(os.path.join(args.out, part), exist_ok=True)
    for name, paras in books:
        train, valid = split(paras)
        for part, ps in (("train", train), ("valid", valid)):
            data = ("\n\n".join(ps) + "\n").encode("utf-8")
            with open(os.path.join(args.out, part, name + ".txt"), "wb") as f:
                f.write(data)
            sizes[part] += len(data)
            print("%-6s %-40s %8d bytes %6d paragraphs" % (part, name, len(data), len(ps)))
    print("total: train %d bytes, valid %d bytes" % (sizes["train"], sizes["valid"]))


if __name__ == "__main__":
    sys.exit(main())
