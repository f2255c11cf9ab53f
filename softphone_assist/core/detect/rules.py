"""The normative label rules of the line-condition corpus (CORPUS.md §2), thresholds from config.

    noisy       N >= noise_level and (no speech or S - N < noisy_snr)
    speech      speech present and S >= speech_level
    low_volume  speech present and S <  speech_level
    silent      otherwise (digital zero, line hiss, comfort noise)

S is the active speech level, N the level of everything that is not caller speech (None: the
line is digitally silent), both in dBov.
"""

from __future__ import annotations

import numpy as np

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.events import Condition

CODES: tuple[Condition, ...] = ("speech", "silent", "low_volume", "noisy")  # index = code
SPEECH, SILENT, LOW_VOLUME, NOISY = 0, 1, 2, 3


def rule_label(speech_dbov: float | None, noise_dbov: float | None, config: DetectorConfig) -> Condition:
    s, n = speech_dbov, noise_dbov
    if n is not None and n >= config.noise_level_dbov and (s is None or s - n < config.noisy_snr_db):
        return "noisy"
    if s is not None:
        return "speech" if s >= config.speech_level_dbov else "low_volume"
    return "silent"


def rule_codes(
    speech_dbov: np.ndarray, present: np.ndarray, noise_dbov: np.ndarray, noise_known: np.ndarray,
    config: DetectorConfig,
) -> np.ndarray:
    """`rule_label` for many evaluations at once, as indices into CODES.

    speech_dbov counts only where `present`; noise_dbov only where `noise_known`.
    """
    loud = noise_known & (noise_dbov >= config.noise_level_dbov)
    noisy = loud & (~present | (speech_dbov - noise_dbov < config.noisy_snr_db))
    voiced = np.where(speech_dbov >= config.speech_level_dbov, SPEECH, LOW_VOLUME)
    return np.where(noisy, NOISY, np.where(present, voiced, SILENT))
