#!/usr/bin/env python3
"""Train the caller tracker's noisy second opinion (detect/noise_model.py).

    .venv/bin/python bench/train_caller_model.py [--corpora /tmp/corpus/dev,/tmp/caller_train/train]
        [--val-from 180 --val-to 240] [--hidden 24] [--gated] [--extra-calls N] [--unheard KIND] [--dry-run]
        [--choose-on /tmp/holdout/holdout,/tmp/holdout_b/holdout]

Training data: the dev corpus and the training split of bench/make_holdout.py (`--train`: seeds
90000+, voices it_IT_f_Menardi, Colombian Spanish, French Armelle, en_US Allison, espeak-ng German,
Polish and Cantonese; noises recorded music on hold, synthesised music of four styles, small-group
and crowd babble, a television or radio, a café, typing, rain, handling noise, radio static, a
machine drone, traffic, wind and dev's five). It shares no voice and no noise generator with
the hold-out split (bench/make_holdout.py without --train). The hold-out sets are never fitted
on; with --choose-on they are validation sets that a threshold must meet the target on (so they
no longer are an unseen test: the judge is then a fresh hold-out with voices and noise kinds of
its own).

1. Runs CallerLineTracker (level rules alone) over every call at 8 and 16 kHz and keeps, for each
   50 ms evaluation the tracker would ask the model about (the rules say speech or low_volume,
   2 s of call in the window, no tone), the hop features and whether the corpus truth at that
   moment (the segment covering t - 0.25 s: the rules react about that late) is noisy.
   Training-split calls with index in [--val-from, --val-to) are kept out of the fit (validation).
2. Fits a logistic model with one small tanh hidden layer: full-batch Adam, L2, fixed seed 0, a
   fixed number of steps (deterministic: same corpora, same weights).
3. Scores every (threshold, low-volume threshold) pair of --thresholds x --lv-thresholds with
   the corpus scorer on dev (all calls) and on the validation calls, both rates, and keeps the
   one with the best worst-case macro-F1 among those that keep every class recall >= 0.92 on
   dev (and on validation, if any pair does); with --choose-on, first among those that meet the
   target (macro-F1 >= 0.95, every recall >= 0.92) on dev and on those sets. Writes
   softphone_assist/core/detect/caller_noise_model.json.

History: the -60 dBov gate of NoiseModel.is_noisy, the tracker's two-evaluation agreement and its
2 s warm-up were chosen in an earlier round with hold-out A (seeds 50000+) as the validation set;
the features added since (envelope rhythm, onset), the training split and the thresholds were
chosen on dev and the validation calls only. Since then: the gate reads the last 0.5 s instead of
1 s (GATE_FEATURE; dev and validation calls) and the caller's slow floor is the 4th-lowest frame
of 1.2 s (floor.CALLER_SLOW_FRAMES; dev, validation calls, and a leave-one-noise-kind-out check on
this split, --unheard moh: trained without its music-on-hold calls, scored on them — 1.5 s scored better on
dev and validation but lost 0.02 noisy recall on the unheard noise kind; that check was added
after hold-out A had shown the 1.5 s floor losing noisy recall). The shipped weights
are those of the round before (these defaults, trained with the 1 s floor; the weights do not
depend on the gate, which only filters at run time): retrained with the 1.5 s floor (default,
--gated, --steps 4000, --hidden 32 --keep-negatives 0.4) they scored worst-case macro-F1
0.9273-0.9297 on dev + validation against the shipped weights' 0.9298, and one of them
(--hidden 32) read a sustained clean talker as noisy (tests/test_detect_caller.py), so the file
was kept.

Round 3: hold-outs A and B had been looked at, so they became validation
sets (--choose-on) and a fresh hold-out is the judge. Changes, each checked on dev, the validation
calls and a leave-one-noise-kind-out run on the new split: five new training noise kinds in
bench/make_holdout.py's TRAIN (band: four synthesised music styles; tv; cafe; handling; static;
none of them a hold-out generator) in a 480-call split, and six cheap features (mod_peak,
mod_centroid, level_skew, env_curvature, tilt_step, loud_tilt_spread; noise_model.py). Command:

    /tmp/corpus-venv/bin/python bench/make_holdout.py --train --calls 480 --out /tmp/caller_train_r3
    .venv/bin/python bench/train_caller_model.py --corpora /tmp/corpus/dev,/tmp/caller_train_r3/train
        --thresholds 0.85,0.875,0.9,0.925,0.95 --choose-on /tmp/holdout/holdout,/tmp/holdout_b/holdout

Per-second figures (bench/bench_generalise.py --detectors model, 16 / 8 kHz; round 2 in brackets):
dev 0.9604 / 0.9591 (0.9612 / 0.9607); hold-out A 0.9503 / 0.9506, noisy recall 0.924 / 0.945
(0.9468 / 0.9482, 0.904 / 0.914); hold-out B 0.9519 / 0.9545, noisy recall 0.929 / 0.956
(0.9518 / 0.9524, 0.925 / 0.936); validation calls of the new split 0.9182 / 0.9240 (round 2's
weights over the whole new split: 0.9077 / 0.9094, noisy recall 0.824 / 0.835). 0.925 is the one
threshold of the grid that meets the target on dev, A and B (0.875 scored best on dev +
validation calls, 0.9209, but A at 8 kHz 0.9478). The steps, each with the default choice: the new
split alone (25 features) A 0.9482 / 0.9475, worst of dev + validation 0.9165; with mod_peak,
mod_centroid, level_skew, env_curvature A 0.9486 / 0.9494, 0.9211; with tilt_step and
loud_tilt_spread too A 0.9506 / 0.9478 (0.875), 0.9209, and at 0.925 the figures above;
--keep-negatives 0.4 did worse (0.9170). Leave one noise kind out (--unheard KIND, threshold 0.9,
16 / 8 kHz macro-F1 and noisy recall): band (the synthesised styles; moh stays in the fit) 25
features 0.9042 / 0.9040, 0.847 / 0.873 -> 31 features 0.9094 / 0.9057, 0.865 / 0.883 (rules
alone 0.8886 / 0.8876); static 0.8793 / 0.8791, 0.733 / 0.744 -> 0.8807 / 0.8793, 0.735 / 0.734
(no change: bursts of clicks no training kind resembles stay hard).
The judge, hold-out C (bench/make_holdout_c.py: built before round 3, only scored; its generators
were not seen by round 3's author, though TV, cafe and plucked music are kinds round 3's training
split also has, with generators of its own): 0.9300 / 0.9327, noisy recall 0.813 / 0.839 (round 2:
0.9259 / 0.9284, 0.801 / 0.812) — the target is not met on noise kinds the model never heard.

Round 4: five voicing features (voiced_frac, voice_peak, pitch_steady,
pitch_held, voice_flips; noise_model.voicing_features over levels.voicing, the normalised
autocorrelation peak at 2.5-12 ms lags of the 20 ms windows at the last second's hop frames, at
4 kHz), nothing else changed: same split, same defaults, same threshold grid and choice rule.
Windows every 20 ms at 8 kHz (tried first) cost the caller tracker ~40-60 ms more per 10-minute
call than the hop windows at 4 kHz; they were not trained to the end. Command (round 3's split):

    .venv/bin/python bench/train_caller_model.py --corpora /tmp/corpus/dev,/tmp/caller_train_r3/train
        --thresholds 0.85,0.875,0.9,0.925,0.95 --choose-on /tmp/holdout/holdout,/tmp/holdout_b/holdout

0.925 again (every threshold of the grid meets the target on dev, A and B now; 0.925 has the
best worst-case macro-F1 on dev + validation calls, 0.9251). Per-second figures (bench/
bench_generalise.py --detectors model, 16 / 8 kHz; round 3 in brackets): dev 0.9632 / 0.9637
(0.9604 / 0.9591); hold-out A 0.9537 / 0.9546, noisy recall 0.933 / 0.947 (0.9503 / 0.9506,
0.924 / 0.945); hold-out B 0.9559 / 0.9547, noisy recall 0.949 / 0.958 (0.9519 / 0.9545, 0.929 /
0.956); validation calls 0.9251 / 0.9258 (0.9182 / 0.9240). Leave one noise kind out (--unheard
KIND --thresholds 0.9; macro-F1 and noisy recall, round 3 in brackets): static 0.8854 / 0.8861,
0.762 / 0.763 (0.8807 / 0.8793, 0.735 / 0.734); band 0.9091 / 0.9074, 0.874 / 0.888 (0.9094 /
0.9057, 0.865 / 0.883). Better on the clicks no training kind resembles, about even on unheard
music; an unheard kind still loses much noisy recall, and on band calls the model costs speech
recall (0.876 / 0.858, rules alone 0.909 / 0.910; round 3's was not recorded). The voicing costs
the caller tracker ~9 ms CPU per 10-minute 16 kHz call (the demo's caller) and ~15 ms on a noisy
one (hold-out A's call 109), where the model is asked more. The judge, hold-out C (only scored;
its author integrated round 4 on the criteria above, fixed before C was scored): 0.9340 / 0.9355,
noisy recall 0.836 / 0.858 (round 3: 0.9300 / 0.9327, 0.813 / 0.839) — still not met.
Round 5 (the shipped weights): training data only, no feature or run-time change. A further
split of procedural noise (bench/make_holdout.py --train-extra: TRAIN's voices, seeds 95000+,
noise_procedural's random layers of coloured noise, partial stacks and click trains under random
envelopes, imitating no named sound) is fitted beside round 3's split; its validation calls stay
round 3's 180-240 (only the second corpus' calls validate; the third is fitted, --extra-calls N
keeps its first N). Commands:

    /tmp/corpus-venv/bin/python bench/make_holdout.py --train-extra --calls 240 --out /tmp/caller_train_r5p
    .venv/bin/python bench/train_caller_model.py --corpora /tmp/corpus/dev,/tmp/caller_train_r3/train,
        /tmp/caller_train_r5p/train_extra --extra-calls 120 --thresholds 0.85,0.875,0.9,0.925,0.95
        --choose-on /tmp/holdout/holdout,/tmp/holdout_b/holdout

0.875 chosen; worst macro-F1 on dev + validation calls 0.9261 (round 4: 0.9251); bench/
bench_generalise.py --detectors model, 16 / 8 kHz: dev 0.9643 / 0.9652, A 0.9533 / 0.9516 (noisy
recall 0.942 / 0.954), B 0.9526 / 0.9527 (0.959 / 0.970), every class recall >= 0.935. Leave one
noise kind out (threshold 0.9, --extra-calls 120; macro-F1 and noisy recall, round 4 in brackets):
static 0.8889 / 0.8920, 0.766 / 0.783 (0.8854 / 0.8861, 0.762 / 0.763); band 0.9102 / 0.9105,
0.868 / 0.885 (0.9091 / 0.9074, 0.874 / 0.888). All 240 extra calls did better left-one-kind-out
(static 0.8928 / 0.8962, 0.778 / 0.797; band 0.9119 / 0.9123, 0.874 / 0.894; tv 0.9116 / 0.9155,
0.834 / 0.859) but worse on the validation calls (0.9220 at 0.85, under the acceptance floor of
0.9231). The caller tracker's CPU is that of round 4 (same code; the weights change no work done).
Tried in round 5 and not shipped: nine spectral features from the voicing windows' power spectra
(per-band minimum statistics over the last second, spectral flatness, flux, centroid spread) on
round 3's data: validation calls 0.9275, static 0.8897 / 0.8894, 0.776 / 0.772, band 0.9138 /
0.9132, 0.890 / 0.894, tv 0.9182 / 0.9197 (round 4: 0.9132 / 0.9141) — better, but +38 ms CPU
per 10-minute clean call and +53 ms on a noisy one, against a budget of +10 / +20 ms. The
integration criteria (dev, A, B met; validation >= round 4 - 0.002; mean left-one-kind-out noisy
recall over static and band higher, no macro-F1 0.005 lower; CPU) were written before hold-out C
was scored. The judge, hold-out C, scored once after the choice: 0.9326 / 0.9327, noisy recall
0.847 / 0.862, speech recall 0.952 / 0.942 (round 4: 0.9340 / 0.9355, 0.836 / 0.858, 0.963 /
0.954) — more noisy seconds found, fewer speech seconds kept, macro-F1 about even: not met.
Re-running this script rewrites the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _corpus import TARGET_MACRO_F1, TARGET_RECALL, Call, iter_calls, load_score_module

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import CallerLineTracker, rules
from softphone_assist.core.detect.noise_model import (
    FEATURES,
    GATE_FEATURE,
    LONG,
    MODEL_FILE,
    NOISE_GATE_DBOV,
    NoiseModel,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "softphone_assist", "core", "detect", MODEL_FILE)
TRUTH_LAG_S = 0.25
# the place in --corpora of the training split (after dev): its calls [--val-from, --val-to) validate,
# --unheard scores on it; corpora after it (round 5's procedural split) are fitted only
SPLIT = 1
score = load_score_module()


def label_at(meta: dict[str, Any], t: float) -> str:
    for s in meta["segments"]:
        if s["start"] <= t < s["end"]:
            return str(s["label"])
    return "silent"


def collect(folder: str, rate: int, config: DetectorConfig, keep: Any,
            gated: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Features and noisy truth of the evaluations the model is asked about, calls where keep(call)."""
    xs, ys = [np.zeros((0, len(FEATURES)))], [np.zeros(0, dtype=bool)]
    for call in iter_calls(folder, rate, config.vad_mode):
        if not keep(call):
            continue
        tr = CallerLineTracker(call.rate, config, noise_model=False)
        tr.feature_sink = []
        for s in range(0, call.vad.size, 100):
            tr.process(call.frames[s : s + 100], call.vad[s : s + 100], s)
        for hops, feats, codes in tr.feature_sink:
            # --gated: only the evaluations the model is asked about at run time, where the gate of
            # NoiseModel.is_noisy passes (the quiet tenth of the last GATE_FRAMES >= NOISE_GATE_DBOV)
            voiced = ((codes == rules.SPEECH) | (codes == rules.LOW_VOLUME)) & (hops >= LONG)
            if gated:
                voiced &= feats[:, FEATURES.index(GATE_FEATURE)] >= NOISE_GATE_DBOV
            truth = np.array([label_at(call.meta, (h + 1) / 100 - TRUTH_LAG_S) == "noisy" for h in hops])
            xs.append(feats[voiced])
            ys.append(truth[voiced])
    return np.concatenate(xs), np.concatenate(ys)


def subsample(x: np.ndarray, y: np.ndarray, keep_neg: float) -> tuple[np.ndarray, np.ndarray]:
    """Every truly noisy evaluation and a fixed-seed share of the others (the fit balances the
    classes by weight anyway; this only makes it faster)."""
    rng = np.random.default_rng(1)
    take = (y > 0.5) | (rng.random(y.size) < keep_neg)
    return x[take], y[take]


def fit(x: np.ndarray, y: np.ndarray, hidden: int, steps: int, l2: float) -> NoiseModel:
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / scale
    rng = np.random.default_rng(0)
    nf = z.shape[1]
    params = {
        "hw": rng.normal(0.0, 1.0 / np.sqrt(nf), (nf, hidden)), "hb": np.zeros(hidden),
        "ow": rng.normal(0.0, 1.0 / np.sqrt(max(hidden, 1)), hidden if hidden else nf), "ob": np.zeros(1),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(val) for k, val in params.items()}
    w_pos = 0.5 / max(y.mean(), 1e-6)  # balance the classes: noisy hops are the minority
    w_neg = 0.5 / max(1.0 - y.mean(), 1e-6)
    wt = np.where(y > 0.5, w_pos, w_neg) / y.size
    lr, b1, b2 = 0.01, 0.9, 0.999
    for step in range(1, steps + 1):
        h = np.tanh(z @ params["hw"] + params["hb"]) if hidden else z
        p = 1.0 / (1.0 + np.exp(-(h @ params["ow"] + params["ob"][0])))
        g_out = wt * (p - y)
        grads = {"ow": h.T @ g_out + l2 * params["ow"], "ob": np.array([g_out.sum()])}
        if hidden:
            g_h = np.outer(g_out, params["ow"]) * (1.0 - h * h)
            grads["hw"] = z.T @ g_h + l2 * params["hw"]
            grads["hb"] = g_h.sum(axis=0)
        else:
            grads["hw"] = np.zeros_like(params["hw"])
            grads["hb"] = np.zeros_like(params["hb"])
        for k, g in grads.items():
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            params[k] -= lr * (m[k] / (1 - b1**step)) / (np.sqrt(v[k] / (1 - b2**step)) + 1e-8)
        if step % 500 == 0:
            loss = -(wt * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum()
            print(f"  step {step}: weighted log-loss {loss:.4f}", flush=True)
    return NoiseModel(mean, scale, params["hw"], params["hb"], params["ow"], float(params["ob"][0]), 0.5)


def evaluate(folder: str, rate: int, config: DetectorConfig, models: list[NoiseModel], keep: Any) -> list[Any]:
    """Corpus-scorer results of each model on the calls of `folder` where keep(call)."""
    pairs: list[list[Any]] = [[] for _ in models]
    for call in iter_calls(folder, rate, config.vad_mode):
        if not keep(call):
            continue
        truth = score.truth_per_second(call.meta)
        for k, model in enumerate(models):
            tr = CallerLineTracker(call.rate, config, noise_model=model)
            events = []
            for s in range(0, call.vad.size, 100):
                events += tr.process(call.frames[s : s + 100], call.vad[s : s + 100], s)
            pairs[k].append((truth, score.decisions_per_second([e.to_json() for e in events], len(truth))))
    return [score.score(p) for p in pairs]


def summary(r: dict[str, Any]) -> tuple[float, float]:
    return float(r["macro_f1"]), min(float(r["per_class"][c]["recall"]) for c in score.LABELS)


def is_val(call: Call, val_from: int, val_to: int) -> bool:
    return call.meta.get("split") != "dev" and val_from <= int(call.meta["call_index"]) < val_to


def has_noise(call: Call, kind: str) -> bool:
    return any(s["noise_type"] == kind for s in call.meta["segments"])


def score_unheard(kind: str, split: str, config: DetectorConfig, model: NoiseModel,
                  thresholds: list[float]) -> int:
    """--unheard KIND: the model was fitted without any call that has KIND in it; score it (and the
    rules alone) on those calls of the training split, the way a noise kind no training call has
    would be heard. Writes nothing."""
    def keep(c: Call) -> bool:
        return has_noise(c, kind)
    for thr in thresholds:
        cand = NoiseModel(model.mean, model.scale, model.hidden_w, model.hidden_b, model.out_w, model.out_b, thr)
        for rate in (16, 8):
            with_model, rules_only = evaluate(split, rate, config, [cand, False], keep)  # type: ignore[list-item]
            for name, r in (("model", with_model), ("rules", rules_only)):
                rec = " ".join(f"{c} {r['per_class'][c]['recall']:.3f}" for c in score.LABELS)
                print(f"unheard {kind}, threshold {thr:.3f}, {rate} kHz, {name}: macro-F1 {r['macro_f1']:.4f}, "
                      f"recall {rec}", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default="/tmp/corpus/dev,/tmp/caller_train/train")
    ap.add_argument("--val-from", type=int, default=180, help="training-split calls from this index validate")
    ap.add_argument("--val-to", type=int, default=240, help="... up to (not including) this one")
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--keep-negatives", type=float, default=0.2, help="share of not-noisy evaluations fitted")
    ap.add_argument("--thresholds", default="0.85,0.9,0.95,0.98", help="comma-separated candidates")
    ap.add_argument("--lv-thresholds", default="same", help="for low_volume hops; `same`: the threshold")
    ap.add_argument("--extra-calls", type=int, default=0, metavar="N",
                    help="fit only the calls with index < N of the corpora after the second (0: all)")
    ap.add_argument("--gated", action="store_true",
                    help="fit only on the evaluations the gate of NoiseModel.is_noisy passes")
    ap.add_argument("--unheard", default="", metavar="KIND",
                    help="fit without the calls that have this noise kind (e.g. moh) and score on them; writes nothing")
    ap.add_argument("--choose-on", default="", metavar="FOLDERS",
                    help="comma-separated corpora (e.g. the hold-out sets, as validation) whose target "
                         "(macro-F1 >= 0.95, every recall >= 0.92) a threshold must meet, like dev's; never fitted on")
    ap.add_argument("--dry-run", action="store_true", help="do not write the model file")
    ap.add_argument("--out", default=OUT, help="where to write the model (default: the shipped file)")
    args = ap.parse_args()
    config = DetectorConfig()
    folders = args.corpora.split(",")
    xs, ys = [], []
    for k, folder in enumerate(folders):
        def keep(c: Call, k: int = k) -> bool:
            return (not (k == SPLIT and is_val(c, args.val_from, args.val_to))
                    and not (args.unheard and has_noise(c, args.unheard))
                    and not (k > SPLIT and args.extra_calls and int(c.meta["call_index"]) >= args.extra_calls))
        for rate in (16, 8):
            x, y = collect(folder, rate, config, keep, args.gated)
            print(f"{folder} @ {rate} kHz: {y.size} evaluations asked ({int(y.sum())} truly noisy)", flush=True)
            xs.append(x)
            ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys).astype(np.float64)
    x, y = subsample(x, y, args.keep_negatives)
    print(f"{y.size} evaluations ({int(y.sum())} truly noisy), {len(FEATURES)} features")
    model = fit(x, y, args.hidden, args.steps, args.l2)
    if args.unheard:
        return score_unheard(args.unheard, folders[min(SPLIT, len(folders) - 1)], config, model,
                             [float(t) for t in args.thresholds.split(",")])
    cands = []
    for thr in (float(t) for t in args.thresholds.split(",")):
        for lv in args.lv_thresholds.split(","):
            cands.append(NoiseModel(model.mean, model.scale, model.hidden_w, model.hidden_b, model.out_w,
                                    model.out_b, thr, None if lv == "same" else float(lv)))
    sets = [("dev", folders[0], lambda c: True)]
    if len(folders) > SPLIT:
        sets.append(("val", folders[SPLIT], lambda c: is_val(c, args.val_from, args.val_to)))
    chosen_on = [f for f in args.choose_on.split(",") if f]
    sets += [(f"choose{k}", folder, lambda c: True) for k, folder in enumerate(chosen_on)]
    figs: list[dict[str, tuple[float, float]]] = [{} for _ in cands]
    for name, folder, keep in sets:
        for rate in (16, 8):
            for k, r in enumerate(evaluate(folder, rate, config, cands, keep)):
                figs[k][f"{name}@{rate}"] = summary(r)
    best: tuple[tuple[bool, bool, float], NoiseModel] | None = None
    for cand, fg in zip(cands, figs, strict=True):
        dev_ok = all(rec >= TARGET_RECALL for key, (_, rec) in fg.items() if key.startswith("dev"))
        # the target on dev and on the --choose-on sets; then recalls and macro-F1 on dev + validation calls
        met = all(f >= TARGET_MACRO_F1 and rec >= TARGET_RECALL
                  for key, (f, rec) in fg.items() if key.startswith(("dev", "choose")))
        fitted = {key: v for key, v in fg.items() if not key.startswith("choose")}
        all_ok = all(rec >= TARGET_RECALL for _, rec in fitted.values())
        worst = min(f for f, _ in fitted.values())
        lv = "same" if cand.threshold_low_volume is None else f"{cand.threshold_low_volume:.3f}"
        print(f"threshold {cand.threshold:.3f} lv {lv}: " + ", ".join(
            f"{key} F1 {f:.4f} min-rec {r:.3f}" for key, (f, r) in fg.items()), flush=True)
        key = (met, all_ok, worst)
        if dev_ok and (best is None or key > best[0]):
            best = (key, cand)
    if best is None:
        print(f"no threshold keeps every dev recall >= {TARGET_RECALL}: model not written")
        return 1
    lv = best[1].threshold_low_volume
    print(f"chosen threshold {best[1].threshold:.3f}, low-volume {lv} (targets met on dev and --choose-on: "
          f"{best[0][0]}; worst macro-F1 on dev + validation calls {best[0][2]:.4f})")
    if not args.dry_run:
        with open(args.out, "w") as f:
            json.dump(best[1].to_json(), f, indent=1)
            f.write("\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
