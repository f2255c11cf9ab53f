"""Call-events files: good files, completion, every kind of bad line, events after the audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from softphone_assist.core.callevents import CallEvents, default_call_events, load_call_events
from softphone_assist.core.errors import InputError
from softphone_assist.core.events import CallEvent


def write(tmp_path: Path, text: str, name: str = "call.events.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def kinds(result: CallEvents) -> list[tuple[float, str, str]]:
    return [(e.t, e.kind, e.source) for e in result.events]


GOOD = """\
# a recorded call: answered after two rings, one hold, closed normally
{"t": 0, "event": "call_start"}
{"t": 2.5, "event": "answered"}

{"t": 40, "event": "hold"}
   {"t": 95.25, "event": "resume"}
{"t": 180, "event": "closing"}
{"t": 185, "event": "closing"}
{"t": 188.4, "event": "call_end"}
"""


def test_good_file(tmp_path: Path) -> None:
    result = load_call_events(write(tmp_path, GOOD), 190.0)
    assert result.events == [
        CallEvent(0.0, "call_start", "file"), CallEvent(2.5, "answered", "file"),
        CallEvent(40.0, "hold", "file"), CallEvent(95.25, "resume", "file"),
        CallEvent(180.0, "closing", "file"), CallEvent(185.0, "closing", "file"),
        CallEvent(188.4, "call_end", "file"),
    ]
    assert result.warnings == []
    assert all(isinstance(e.t, float) for e in result.events)


def test_default_events_span_the_audio() -> None:
    assert default_call_events(61.25) == CallEvents(
        [CallEvent(0.0, "call_start", "auto"), CallEvent(61.25, "call_end", "auto")], [])


def test_missing_start_and_end_are_added(tmp_path: Path) -> None:
    path = write(tmp_path, '{"t": 3, "event": "hold"}\n{"t": 9, "event": "resume"}\n')
    assert kinds(load_call_events(path, 12.0)) == [
        (0.0, "call_start", "auto"), (3.0, "hold", "file"), (9.0, "resume", "file"),
        (12.0, "call_end", "auto"),
    ]


def test_empty_file_and_comments_only_give_the_default(tmp_path: Path) -> None:
    for text in ("", "# nothing happened\n\n   \n"):
        assert load_call_events(write(tmp_path, text), 5.0) == default_call_events(5.0)


def test_late_start_and_call_end_on_hold_are_legal(tmp_path: Path) -> None:
    path = write(tmp_path, '{"t": 4, "event": "call_start"}\n{"t": 4, "event": "answered"}\n'
                           '{"t": 6, "event": "hold"}\n{"t": 8, "event": "call_end"}\n')
    assert kinds(load_call_events(path, 10.0)) == [
        (4.0, "call_start", "file"), (4.0, "answered", "file"), (6.0, "hold", "file"),
        (8.0, "call_end", "file"),
    ]


def test_bom_and_crlf_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "win.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"t": 1, "event": "answered"}\r\n{"t": 2, "event": "call_end"}\r\n')
    assert kinds(load_call_events(path, 3.0)) == [
        (0.0, "call_start", "auto"), (1.0, "answered", "file"), (2.0, "call_end", "file")]


# --------------------------------------------------------------------------------------------
# Bad lines: InputError "FILE:LINE: ..." on one line
# --------------------------------------------------------------------------------------------
START = '{"t": 0, "event": "call_start"}\n'


@pytest.mark.parametrize(("body", "line", "problem"), [
    ('{"t": 1, "event": "hold"', 2, "not valid JSON (Expecting ',' delimiter at column 25)"),
    ("hold at 5\n", 2, "not valid JSON (Expecting value at column 1)"),
    ('[1, "hold"]\n', 2, "expected a JSON object"),
    ('"hold"\n', 2, "expected a JSON object"),
    ('{"t": 1}\n', 2, "missing key 'event'"),
    ('{"event": "hold"}\n', 2, "missing key 't'"),
    ('{"time": 1, "event": "hold"}\n', 2, "unknown key 'time'"),
    ('{"t": 1, "event": "hold", "t": 2}\n', 2, "duplicate key 't'"),
    ('{"t": "1.5", "event": "hold"}\n', 2, 't must be a number of seconds, got "1.5"'),
    ('{"t": true, "event": "hold"}\n', 2, "t must be a number of seconds, got true"),
    ('{"t": null, "event": "hold"}\n', 2, "t must be a number of seconds, got null"),
    ('{"t": -0.5, "event": "hold"}\n', 2, "t must be a finite number >= 0, got -0.5"),
    ('{"t": NaN, "event": "hold"}\n', 2, "t must be a finite number >= 0, got nan"),
    ('{"t": Infinity, "event": "hold"}\n', 2, "t must be a finite number >= 0, got inf"),
    ('{"t": 1, "event": "mute"}\n', 2, 'unknown event "mute" (known: call_start, answered, hold, resume, '
                                       'closing, call_end)'),
    ('{"t": 1, "event": 3}\n', 2, "unknown event 3"),
    ("[" * 3000 + "\n", 2, "JSON nested 3000 levels deep (at most 32)"),  # a RecursionError once
    ('{"t": 1, "event": ' + "[" * 40 + "]" * 40 + "}\n", 2, "JSON nested 41 levels deep (at most 32)"),
])
def test_malformed_lines(tmp_path: Path, body: str, line: int, problem: str) -> None:
    path = write(tmp_path, START + body)
    with pytest.raises(InputError) as err:
        load_call_events(path, 10.0)
    assert str(err.value).startswith(f"{path}:{line}: {problem}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("lines", "line", "problem"), [
    (['{"t": 5, "event": "answered"}', '{"t": 4, "event": "hold"}'], 2,
     "hold at 4 s: time goes backwards (the previous event is at 5 s)"),
    (['{"t": 1, "event": "answered"}', '{"t": 1, "event": "call_start"}'], 2,
     "call_start at 1 s: call_start must be the first event"),
    ([START.strip(), START.strip()], 2, "call_start at 0 s: call_start must be the first event"),
    (['{"t": 1, "event": "answered"}', '{"t": 2, "event": "answered"}'], 2,
     "answered at 2 s: the call was already answered (line 1)"),
    (['{"t": 1, "event": "hold"}', '{"t": 2, "event": "answered"}'], 2,
     "answered at 2 s: answered must come before any hold, resume or closing"),
    (['{"t": 1, "event": "hold"}', "# still on hold", '{"t": 2, "event": "hold"}'], 3,
     "hold at 2 s: the call is already on hold (line 1)"),
    (['{"t": 1, "event": "resume"}'], 1, "resume at 1 s: resume without a hold before it"),
    (['{"t": 1, "event": "hold"}', '{"t": 2, "event": "resume"}', '{"t": 3, "event": "resume"}'], 3,
     "resume at 3 s: resume without a hold before it"),
    (['{"t": 1, "event": "hold"}', '{"t": 2.5, "event": "closing"}'], 2,
     "closing at 2.5 s: the call is on hold (line 1); resume it first"),
    (['{"t": 1, "event": "call_end"}', '{"t": 2, "event": "closing"}'], 2,
     "closing at 2 s: comes after call_end (line 1); nothing may follow the end of the call"),
    (['{"t": 1, "event": "call_end"}', '{"t": 1, "event": "call_end"}'], 2,
     "call_end at 1 s: comes after call_end (line 1)"),
])
def test_illegal_sequences(tmp_path: Path, lines: list[str], line: int, problem: str) -> None:
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_call_events(path, 10.0)
    assert str(err.value).startswith(f"{path}:{line}: {problem}")


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(START.encode() + b'# caf\xe9\n')
    with pytest.raises(InputError, match=r":2: not UTF-8 text \(byte 0xe9\)$"):
        load_call_events(path, 10.0)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_call_events(tmp_path / "nope.jsonl", 10.0)
    assert str(err.value) == f"{tmp_path / 'nope.jsonl'}: no such file"
    with pytest.raises(InputError) as err:
        load_call_events(tmp_path, 10.0)
    assert str(err.value) == f"{tmp_path}: is a directory, not an events file"


def test_bad_duration_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        default_call_events(float("nan"))
    with pytest.raises(ValueError):
        load_call_events(write(tmp_path, START), -1.0)


# --------------------------------------------------------------------------------------------
# Events after the end of the audio: warnings, dropped
# --------------------------------------------------------------------------------------------
def test_events_after_the_audio_are_dropped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, START + '{"t": 50, "event": "hold"}\n{"t": 70, "event": "resume"}\n'
                                  '{"t": 90, "event": "call_end"}\n')
    result = load_call_events(path, 61.3)
    assert kinds(result) == [(0.0, "call_start", "file"), (50.0, "hold", "file"), (61.3, "call_end", "auto")]
    assert result.warnings == [
        f"{path}:3: resume at 70 s is after the end of the audio (61.300 s); ignored",
        f"{path}:4: call_end at 90 s is after the end of the audio (61.300 s); ignored",
    ]


def test_an_event_within_a_millisecond_of_the_end_moves_to_the_end(tmp_path: Path) -> None:
    path = write(tmp_path, START + '{"t": 10.0009, "event": "call_end"}\n')
    result = load_call_events(path, 10.0)
    assert kinds(result) == [(0.0, "call_start", "file"), (10.0, "call_end", "file")]
    assert result.warnings == []
    path = write(tmp_path, START + '{"t": 10.002, "event": "call_end"}\n')
    assert kinds(load_call_events(path, 10.0))[-1] == (10.0, "call_end", "auto")


def test_sequence_errors_win_over_the_duration(tmp_path: Path) -> None:
    """A broken file is broken whatever the audio length: order is checked before anything is dropped."""
    path = write(tmp_path, START + '{"t": 50, "event": "resume"}\n')
    with pytest.raises(InputError, match=r":2: resume at 50 s: resume without a hold"):
        load_call_events(path, 10.0)
