"""`softphone-assist check`: a replay compared with a kept expectation, for tests of recorded calls.

The expectation (CALL.expect.json) lists what the standard's engine did and when: prompts
(protocol, step), protocol ends (protocol, reason) and may-hang-up moments (protocol). Wording is
not compared (it follows the script and the time of day); times are, within `--tol` seconds.
Items are matched in order by what they are; the diff names each one missing, extra or moved.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from softphone_assist.core.errors import InputError

Item = tuple[str, str, str, float]  # (event, protocol, step or reason, t)
FORMAT = 1


def expectation_items(records: list[dict[str, Any]]) -> list[Item]:
    out: list[Item] = []
    for r in records:
        if r["event"] == "prompt":
            out.append(("prompt", r["protocol"], str(r["step"]), float(r["t"])))
        elif r["event"] == "protocol_end":
            out.append(("protocol_end", r["protocol"], r["reason"], float(r["t"])))
        elif r["event"] == "may_hang_up":
            out.append(("may_hang_up", r["protocol"], "", float(r["t"])))
    return out


def to_json(items: list[Item], call: Path) -> dict[str, Any]:
    return {"format": FORMAT, "call": call.name,
            "timeline": [{"t": t, "event": ev, "protocol": p, **({"step": int(x)} if ev == "prompt" else
                                                               {"reason": x} if ev == "protocol_end" else {})}
                         for ev, p, x, t in items]}


def load_expectation(path: Path) -> list[Item]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["timeline"]
        return [(d["event"], d["protocol"], str(d.get("step", d.get("reason", ""))), float(d["t"])) for d in items]
    except FileNotFoundError:
        raise InputError(f"{path}: no such expectation (create it with --write-expect)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not an expectation file ({type(e).__name__}: {e})") from None


def _say(item: Item) -> str:
    ev, p, x, t = item
    what = {"prompt": f"prompt {p} step {x}", "protocol_end": f"{p} ended ({x})",
            "may_hang_up": f"may hang up ({p})"}[ev]
    return f"{t:8.2f}  {what}"


def diff(expected: list[Item], got: list[Item], tol: float) -> list[str]:
    """Readable differences: `- expected`, `+ got`, `~ moved`; empty when they agree within `tol`."""
    out: list[str] = []
    keys_e, keys_g = [i[:3] for i in expected], [i[:3] for i in got]
    for op, e0, e1, g0, g1 in difflib.SequenceMatcher(a=keys_e, b=keys_g, autojunk=False).get_opcodes():
        if op == "equal":
            for e, g in zip(expected[e0:e1], got[g0:g1], strict=True):
                if abs(e[3] - g[3]) > tol + 1e-9:
                    out.append(f"~ {_say(g)[10:]}: expected at {e[3]:.2f} s, got {g[3]:.2f} s "
                               f"({g[3] - e[3]:+.2f} s, tolerance {tol:g} s)")
            continue
        out += [f"- {_say(e)}" for e in expected[e0:e1]]
        out += [f"+ {_say(g)}" for g in got[g0:g1]]
    return out


def check_main(args: argparse.Namespace) -> int:
    from softphone_assist.audit.one import AuditOptions, timeline_records
    from softphone_assist.core.script.locale_option import check_locale

    check_locale(args.locale)
    call: Path = args.file
    expect_path: Path = args.expect or call.with_name(f"{call.stem}.expect.json")
    events = args.events
    if events is None and call.with_name(f"{call.stem}.events.jsonl").is_file():
        events_dir: Path | None = call.parent
    else:
        events_dir = None
    options = AuditOptions(channels=args.channels, events_dir=events_dir, locale=args.locale)
    if events is not None:
        if not events.is_file():
            raise InputError(f"--events {events}: no such file")
        from softphone_assist.core.timeline import JSONL_TYPES
        from softphone_assist.replay import ReplayRun

        run = ReplayRun(path=call, channels=args.channels, events_path=events, locale=args.locale)
        records = [u.to_json() for u in run.updates() if isinstance(u, JSONL_TYPES)]
    else:
        records = timeline_records(call, options)[0]
    got = expectation_items(records)
    if args.write_expect:
        expect_path.write_text(json.dumps(to_json(got, call), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        sys.stdout.write(f"wrote {expect_path}: {len(got)} items\n")
        return 0
    problems = diff(load_expectation(expect_path), got, args.tol)
    if not problems:
        sys.stdout.write(f"{call.name}: as expected ({len(got)} items, tolerance {args.tol:g} s)\n")
        return 0
    sys.stdout.write(f"{call.name}: differs from {expect_path.name} (- expected, + got, ~ moved):\n")
    sys.stdout.write("".join(f"  {line}\n" for line in problems))
    return 1
