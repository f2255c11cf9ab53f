"""Detector settings: thresholds in dBov and durations in seconds, validated, frozen.

Defaults follow the normative label rules of the line-condition corpus (CORPUS.md §2):
speech vs low volume at -37 dBov active speech level; a line is noisy when the non-speech
level is at least -45 dBov and there is no speech or the SNR is under 15 dB.
Script timings (waits between ladder steps) live in the script files, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from softphone_assist.core.errors import UserError


class ConfigError(UserError):
    """A setting is missing, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    speech_level_dbov: float = -37.0  # active speech level at or above: speech; below: low_volume
    noise_level_dbov: float = -45.0  # non-speech level at or above this can make the line noisy
    noisy_snr_db: float = 15.0  # ... when the SNR is below this (or nobody speaks)
    pause_s: float = 0.6  # pauses inside a turn up to this long are not silence
    vad_mode: int = 3  # webrtcvad aggressiveness 0..3; 3 flags least noise as speech
    clip_dbov: float = -0.1  # |sample| at or above this level counts as clipped

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"detector.{f.name}: expected a number, got {value!r}")
        if not -90.0 <= self.speech_level_dbov <= 0.0:
            raise ConfigError(f"detector.speech_level_dbov: {self.speech_level_dbov} is outside -90..0 dBov")
        if not -90.0 <= self.noise_level_dbov <= 0.0:
            raise ConfigError(f"detector.noise_level_dbov: {self.noise_level_dbov} is outside -90..0 dBov")
        if not 0.0 <= self.noisy_snr_db <= 60.0:
            raise ConfigError(f"detector.noisy_snr_db: {self.noisy_snr_db} is outside 0..60 dB")
        if not 0.05 <= self.pause_s <= 5.0:
            raise ConfigError(f"detector.pause_s: {self.pause_s} is outside 0.05..5 s")
        if not isinstance(self.vad_mode, int) or self.vad_mode not in (0, 1, 2, 3):
            raise ConfigError(f"detector.vad_mode: {self.vad_mode} is not one of 0, 1, 2, 3")
        if not -20.0 <= self.clip_dbov <= 0.0:
            raise ConfigError(f"detector.clip_dbov: {self.clip_dbov} is outside -20..0 dBov")

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "detector") -> DetectorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        try:
            return cls(**data)
        except ConfigError as e:
            raise ConfigError(str(e).replace("detector.", f"{where}.", 1)) from None


COACH_KINDS: tuple[str, ...] = ("overtalk", "agent_quiet", "agent_clipping", "speech_rate")

# (low, high, unit) of each CoachConfig number: values outside are typos, not preferences
COACH_LIMITS: dict[str, tuple[float, float, str]] = {
    "overtalk_s": (0.5, 10.0, "s"),
    "quiet_dbov": (-60.0, -10.0, "dBov"),
    "quiet_window_s": (2.0, 60.0, "s"),
    "clip_samples": (1, 100000, "samples"),
    "clip_window_s": (1.0, 60.0, "s"),
    "rate_window_s": (5.0, 120.0, "s"),
    "rate_over": (0.05, 2.0, "(fraction)"),
    "repeat_s": (10.0, 3600.0, "s"),
}


@dataclass(frozen=True, slots=True)
class CoachConfig:
    """When the agent gets a coaching hint (issue 9 §4; softphone_assist/core/detect/coach.py).

    Durations of agent speech count only the agent's own speech while the coach listens (in a
    call, not on hold, not while following a ladder prompt). `kinds`: the hints that are on.
    """

    overtalk_s: float = 1.5  # agent and caller both talking this long: "let the customer finish"
    quiet_dbov: float = -35.0  # active speech level of the agent below this ...
    quiet_window_s: float = 10.0  # ... over this much agent speech: "move the microphone closer"
    clip_samples: int = 10  # this many clipped samples ...
    clip_window_s: float = 5.0  # ... within this much agent speech: "your microphone is too loud"
    rate_window_s: float = 20.0  # syllable rate over this much agent speech ...
    rate_over: float = 0.30  # ... more than this fraction above the script's rate: "slow down"
    repeat_s: float = 120.0  # each kind at most once per this much stream time
    kinds: frozenset[str] = frozenset(COACH_KINDS)

    def __post_init__(self) -> None:
        for name, (low, high, unit) in COACH_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"coach.{name}: expected a number, got {value!r}")
            if not low <= value <= high:  # also refuses nan
                raise ConfigError(f"coach.{name}: {value} is outside {low:g}..{high:g} {unit}")
        unknown = sorted(set(self.kinds) - set(COACH_KINDS))
        if unknown:
            raise ConfigError(f"coach: unknown kind {unknown[0]!r} (known: {', '.join(COACH_KINDS)})")
