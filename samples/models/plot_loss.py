#!/usr/bin/env python3
"""Draws the loss curve of a training run as an SVG, from the training_log.csv that pretrain/distill export.

Usage: python3 samples/models/plot_loss.py samples/models/target/training_log.csv [more.csv ...] -o loss.svg
Standard library only. Training loss is drawn as a thin line (a 20-step moving average), validation loss as dots.
"""
import argparse
import csv
import math

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def read(path):
    steps, train, val = [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            s = int(row["step"])
            steps.append(s)
            train.append(float(row["train_loss"]))
            if row.get("val_loss"):
                val.append((s, float(row["val_loss"])))
    smooth = []
    for i in range(len(train)):
        window = train[max(0, i - 19):i + 1]
        smooth.append(sum(window) / len(window))
    return steps, smooth, val


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+")
    ap.add_argument("-o", "--out", default="loss.svg")
    args = ap.parse_args()
    runs = [(p, *read(p)) for p in args.logs]
    w, h, left, right, top, bottom = 760, 420, 60, 20, 20, 50
    max_step = max(max(r[1]) for r in runs)
    values = [v for r in runs for v in r[2]] + [v for r in runs for _, v in r[3]]
    lo, hi = math.floor(min(values) * 2) / 2, math.ceil(max(values) * 2) / 2
    x = lambda s: left + (w - left - right) * s / max_step
    y = lambda v: top + (h - top - bottom) * (hi - v) / (hi - lo)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>']
    v = lo
    while v <= hi + 1e-9:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (left, w - right, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' % (left - 6, y(v) + 4, v))
        v += 0.5
    for i in range(6):
        s = max_step * i / 5
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(s), h - bottom + 18, s))
    out.append('<text x="%d" y="%d" text-anchor="middle">step</text>' % ((w + left) // 2, h - 8))
    for i, (path, steps, smooth, val) in enumerate(runs):
        c = COLOURS[i % len(COLOURS)]
        pts = " ".join("%.1f,%.1f" % (x(s), y(t)) for s, t in zip(steps, smooth))
        out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (c, pts))
        for s, t in val:
            out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="white" stroke="%s" stroke-width="2"/>' % (x(s), y(t), c))
        out.append('<text x="%d" y="%d" fill="%s">%s: train (line), validation (dots)</text>' % (left + 10, top + 16 + 16 * i, c, path))
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
