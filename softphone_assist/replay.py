"""Replay a recorded call through the same Pipeline the live app runs, deterministically."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from softphone_assist.audio.reader import CallInfo, open_call
from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.callevents import default_call_events, load_call_events
from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.events import Update
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.engine import EngineOptions
from softphone_assist.core.script.loader import load_script
from softphone_assist.core.script.model import Script

ProgressFn = Callable[[float, float], None]  # (seconds done, seconds total)


@dataclass
class ReplayRun:
    """What a replay needs; `warnings` fills in while it runs (truncated file, late events)."""

    path: Path
    channels: str | None = None
    events_path: Path | None = None
    locale: str = "zh-CN"
    start_time: datetime = field(default_factory=datetime.now)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    options: EngineOptions = field(default_factory=EngineOptions)
    # big blocks: the trackers cost per numpy call, not per frame (same result whatever the size);
    # 30 s (~1.5 ms of overhead per block saved over 5 s) fits the trackers' 4096-frame rings in one piece
    block_s: float = 30.0
    warnings: list[str] = field(default_factory=list)
    info: CallInfo | None = None
    script: Script | None = None  # already loaded (an audit of many calls): else `locale`'s

    def updates(self, progress: ProgressFn | None = None) -> Iterator[Update]:
        script = self.script if self.script is not None else load_script(self.locale)
        with open_call(self.path, self.channels) as reader:
            self.info = info = reader.info
            if self.events_path is not None:
                loaded = load_call_events(self.events_path, info.duration_s)
            else:
                loaded = default_call_events(info.duration_s)
            self.warnings.extend(loaded.warnings)
            pipe = Pipeline(info.rate, script, WebRtcVad, has_agent=info.has_agent,
                            call_started_at=self.start_time, detector=self.detector,
                            engine_options=self.options)
            pipe.schedule(loaded.events)
            for caller, agent in reader.blocks(self.block_s, int16=True):  # Pipeline takes int16 blocks
                yield from pipe.feed(caller, agent)
                if progress is not None:
                    progress(pipe.t, info.duration_s)
            self.warnings.extend(reader.warnings)
            yield from pipe.finish()
