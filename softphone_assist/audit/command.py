"""`softphone-assist audit`: gather the calls, skip those already audited, fan out, write results.

Progress on stderr (tqdm: calls done / total, hours of audio, ETA) and one summary line at the
end. Exit 0 when every file was audited, 1 when some could not be read, 2 for bad options (raised
as UserError before anything runs).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from softphone_assist.core.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac")


def find_calls(specs: Iterable[str]) -> list[Path]:
    """Files as given, folders searched recursively for WAV/FLAC, globs expanded; absolute, no repeats."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        elif path.exists():
            found.append(path)
        elif glob.has_magic(spec):
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            if not matches:
                raise UserError(f"{spec}: the pattern matches no file")
            for m in matches:
                found += find_calls([str(m)]) if m.is_dir() else [m]
        else:
            raise UserError(f"{spec}: no such file or folder")
    seen: set[Path] = set()
    out: list[Path] = []
    for p in found:
        a = p.resolve()
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def _audio_seconds(path: Path) -> float:
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return float(info.frames) / info.samplerate if info.samplerate else 0.0
    except Exception:  # unreadable: its row will say why; it adds no hours
        return 0.0


def _check_options(args: argparse.Namespace) -> None:
    from softphone_assist.audio.reader import parse_channel_map
    from softphone_assist.core.script.locale_option import check_locale

    check_locale(args.locale)
    if args.channels is not None:
        parse_channel_map(args.channels)
    if args.events_dir is not None and not args.events_dir.is_dir():
        raise UserError(f"--events-dir {args.events_dir}: no such folder")


def audit_main(args: argparse.Namespace) -> int:
    from softphone_assist.audit.fanout import run_calls
    from softphone_assist.audit.one import AuditOptions, sha256_of
    from softphone_assist.audit.pictures import draw_if_missing
    from softphone_assist.audit.report import write_report
    from softphone_assist.audit.rows import RowWriter, read_rows, row_line, write_csv
    from softphone_assist.extras import MissingExtraError, is_installed

    for module in ("matplotlib", "tqdm"):
        if not is_installed(module):
            raise MissingExtraError("audit", module, extra="audit")
    from tqdm import tqdm

    _check_options(args)
    calls = find_calls(args.paths)
    if not calls:
        raise UserError(f"{' '.join(args.paths)}: no WAV or FLAC files found")
    out = args.out or Path(f"audit-{datetime.now():%Y%m%d-%H%M%S}")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    options = AuditOptions(channels=args.channels, events_dir=args.events_dir.resolve() if args.events_dir else None,
                           locale=args.locale, tolerance_s=args.tolerance)
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None

    done = {r.get("sha256"): r for r in read_rows(out) if r.get("sha256")}
    todo: list[Path] = []
    mine: dict[str, Path] = {}  # sha256 -> path, the calls of this run (a copy of a call counts once)
    known: dict[Path, str] = {}  # path -> sha256, handed to the workers so no file is hashed twice
    skipped = 0
    for p in calls:
        try:
            sha = sha256_of(p)
        except OSError:
            todo.append(p)  # its row will carry the error
            continue
        if sha in mine:
            continue
        mine[sha], known[p] = p, sha
        if sha in done:
            skipped += 1
        else:
            todo.append(p)
    total_s = sum(_audio_seconds(p) for p in todo)
    started = time.monotonic()
    new_rows: list[dict[str, Any]] = []
    writer = RowWriter(out)
    bar = tqdm(total=len(todo), unit="call", file=sys.stderr, dynamic_ncols=True, disable=None,
               desc="auditing", bar_format="{desc}: {n_fmt}/{total_fmt} calls |{bar}| {postfix} ETA {remaining}")
    audio_done = 0.0
    jobs = args.jobs or os.cpu_count() or 1
    results = run_calls(todo, options, jobs=jobs, scheduler=scheduler, known=known)
    try:
        for row in results:
            writer.write(row)
            new_rows.append(row)
            # here, not in the workers: one matplotlib per audit (~0.4 s of CPU to import), and
            # the same for a Dask cluster, whose workers may not see --out
            draw_if_missing(out, row)
            if args.jsonl:
                sys.stdout.write(row_line(row))
                sys.stdout.flush()
            audio_done += float(row.get("duration_s") or 0.0)
            bar.set_postfix_str(f"{audio_done / 3600:.2f} of {total_s / 3600:.2f} h audio", refresh=False)
            bar.update(1)
    finally:  # Ctrl-C or an error: stop the workers now; the rows written so far stay
        close = getattr(results, "close", None)
        if close is not None:
            close()
        bar.close()
        writer.close()
    audit_s = time.monotonic() - started
    rows = read_rows(out)
    write_csv(out, rows)
    report = write_report(out, rows, jobs=jobs)

    ours = [r for r in rows if r.get("sha256") in mine] + [r for r in new_rows if not r.get("sha256")]
    errors = [r for r in ours if "error" in r]
    violations = sum(len(r.get("violations", [])) for r in ours)
    hours = sum(float(r.get("duration_s") or 0.0) for r in ours) / 3600
    sys.stderr.write(
        f"softphone-assist: audited {len(new_rows)} calls in {audit_s:.1f} s"
        f"{f' ({skipped} already done)' if skipped else ''}: {len(ours)} calls, {hours:.2f} h of audio, "
        f"{violations} violations in {sum(1 for r in ours if r.get('violations'))} calls, "
        f"{len(errors)} could not be read; report {report}\n")
    return 1 if errors else 0
