#!/usr/bin/env python3
"""Score the caller line-condition tracker on a corpus, in-process, with the corpus' own rules.

Runs `CallerLineTracker` over every `<call>_{8,16}k.wav` of a corpus folder (8k files at
8000 Hz, 16k files at 16000 Hz, webrtcvad decisions from `WebRtcVad`, cached), turns its
condition events into the JSONL records `softphone-assist replay --jsonl` prints, and scores
them with /work/shared/corpus/score.py (per-second truth, decision in force at t = k + 1).

    python bench/tune_detector.py                              # /tmp/corpus/dev, both rates
    python bench/tune_detector.py /tmp/holdout/holdout --rate 8 --by-noise
    python bench/tune_detector.py --block 1000 --limit 20      # frames per process() call

Prints per rate: per-class precision/recall/F1, the confusion matrix, macro-F1, and the
tracker's own time (VAD excluded) per 10,000 frames.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _corpus import Call, iter_calls, load_score_module

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import CallerLineTracker

score = load_score_module()


def run_call(call: Call, config: DetectorConfig, block: int) -> tuple[list[dict[str, Any]], float]:
    """The caller condition events of one call as JSONL records, and the tracker's CPU time."""
    tracker = CallerLineTracker(call.rate, config)
    events = []
    t0 = time.process_time()
    for s in range(0, call.vad.size, block):
        events += tracker.process(call.frames[s : s + block], call.vad[s : s + block], s)
    spent = time.process_time() - t0
    return [e.to_json() for e in events], spent


def noise_type_of_second(meta: dict[str, Any], k: int) -> str:
    best = max(meta["segments"], key=lambda s: min(s["end"], k + 1) - max(s["start"], k))
    return str(best["noise_type"])


def print_result(r: dict[str, Any]) -> None:
    labels = score.LABELS
    print(f"{'class':<11} {'prec':>6} {'recall':>6} {'f1':>6} {'support':>7}")
    for c in labels:
        pc = r["per_class"][c]
        print(f"{c:<11} {pc['precision']:6.3f} {pc['recall']:6.3f} {pc['f1']:6.3f} {pc['support']:7d}")
    print("confusion (rows truth, cols predicted):", " ".join(labels))
    for t in labels:
        print(f"  {t:<11}", " ".join(f"{r['confusion'][t][p]:6d}" for p in labels))


def bench(folder: str, rate_khz: int, args: argparse.Namespace) -> dict[str, Any]:
    config = DetectorConfig()
    pairs = []
    frames = 0
    spent = 0.0
    by_noise: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for call in iter_calls(folder, rate_khz, config.vad_mode, args.limit):
        records, dt = run_call(call, config, args.block)
        spent += dt
        frames += call.vad.size
        truth = score.truth_per_second(call.meta)
        decided = score.decisions_per_second(records, len(truth))
        pairs.append((truth, decided))
        if args.by_noise:
            for k, (t, d) in enumerate(zip(truth, decided, strict=True)):
                by_noise[(t, noise_type_of_second(call.meta, k))][d] += 1
    if not pairs:
        raise SystemExit(f"no *_{rate_khz}k.wav calls in {folder}")
    r: dict[str, Any] = score.score(pairs)
    print(f"== {folder} @ {rate_khz} kHz: {len(pairs)} calls, block {args.block} frames")
    print_result(r)
    if args.by_noise:
        print("by truth and noise type (predicted counts):")
        for key in sorted(by_noise):
            print(f"  {key[0]:<11} {key[1]:<14}", dict(sorted(by_noise[key].items())))
    minrec = min(r["per_class"][c]["recall"] for c in score.LABELS)
    print(f"macro-F1 {r['macro_f1']:.4f} accuracy {r['accuracy']:.4f} min-recall {minrec:.3f} "
          f"seconds {r['seconds']}")
    print(f"tracker time {spent / frames * 1e4 * 1e3:.1f} ms per 10,000 frames (CPU, VAD excluded)\n")
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", default=["/tmp/corpus/dev"], help="corpus folders")
    ap.add_argument("--rate", choices=["8", "16", "both"], default="both")
    ap.add_argument("--limit", type=int, default=0, help="only the first N calls")
    ap.add_argument("--block", type=int, default=100, help="frames per process() call (default 100)")
    ap.add_argument("--by-noise", action="store_true", help="confusion per truth label and noise type")
    args = ap.parse_args(argv)
    rates = [8, 16] if args.rate == "both" else [int(args.rate)]
    for folder in args.folders:
        for rate in rates:
            bench(folder, rate, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
