#!/usr/bin/env python3
"""Accuracy of the caller line-condition detector on the corpus, through the real CLI.

    python bench/bench_accuracy.py [--corpus /tmp/corpus/dev] [--rates 16,8] [--limit N]

Generates the dev corpus first if it is missing (../shared/corpus/make_corpus.py in its own venv with
the pinned packages, as CORPUS.md §7 says), then runs ../shared/corpus/score.py with
`softphone-assist replay {wav} --jsonl` for each rate and prints its tables. Target (issue 2):
macro-F1 >= 0.95 at both rates and every class recall >= 0.90.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SOFTPHONE_ASSIST_SHARED", ROOT.parent / "shared"))
CORPUS_VENV = Path("/tmp/corpus-venv")
PINNED = ["numpy==2.4.6", "scipy==1.17.1", "soundfile==0.14.0"]


def ensure_corpus(folder: Path, split: str) -> None:
    if any(folder.glob("*_16k.wav")):
        return
    if not (CORPUS_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(CORPUS_VENV)], check=True)
        subprocess.run([str(CORPUS_VENV / "bin" / "pip"), "install", "-q", *PINNED], check=True)
    print(f"generating the {split} corpus into {folder.parent} (about 5 minutes)…", flush=True)
    subprocess.run([str(CORPUS_VENV / "bin" / "python"), str(SHARED / "corpus" / "make_corpus.py"),
                    "--split", split, "--out", str(folder.parent)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/corpus/dev"))
    ap.add_argument("--rates", default="16,8")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    ensure_corpus(args.corpus, args.corpus.name)
    exe = Path(sys.executable).with_name("softphone-assist")
    ok = True
    for rate in args.rates.split(","):
        cmd = [sys.executable, str(SHARED / "corpus" / "score.py"), str(args.corpus), "--rate", rate,
               "--run", f"{exe} replay {{wav}} --jsonl"]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        print(f"== {rate} kHz: {' '.join(cmd)}", flush=True)
        res = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(res.stdout)
        sys.stderr.write(res.stderr)
        m = re.search(r"macro-F1 ([0-9.]+)", res.stdout)
        recalls = [float(x) for x in re.findall(r"^\w+\s+[0-9.]+\s+([0-9.]+)\s", res.stdout, re.M)]
        met = bool(m) and float(m.group(1)) >= 0.95 and recalls and min(recalls) >= 0.90
        print(f"target (macro-F1 >= 0.95, every recall >= 0.90) at {rate} kHz: {'MET' if met else 'NOT MET'}\n")
        ok = ok and met and res.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
