"""From the per-hop rule label to reported condition changes: holds, quick return, `since`.

The scorer (and the agent) judge a second by the condition in force at its end, so the best
fixed latency is ~0.5 s: a change first seen in the first half of a second is reported by its
end, one seen in the second half is not. Each target condition therefore has a hold (how many
consecutive evaluations must agree) chosen so that detection delay + hold ~ 0.5 s:

* speech onset is seen within ~50 ms, so a change to speech waits 0.45 s;
* noise is only recognised once the floor has risen (~0.5 s), so noisy waits 0.1 s;
* silence after speech already waited out the pause allowance, so it is immediate;
* a noisy line falling quiet is seen at once, so silent-after-noisy waits 0.4 s.

A turn that resumes shortly after it was declared over (a pause just longer than allowed)
comes back after one evaluation instead of the full hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from softphone_assist.core.events import Condition

HOLD_S: dict[Condition, float] = {"speech": 0.45, "low_volume": 0.35, "noisy": 0.10, "silent": 0.01,
                                  "tone": 0.10}  # tone: confirmed over 2 windows already (tones.py)
HOLD_SPEECH_AFTER_NOISY_S = 0.35
HOLD_SILENT_AFTER_NOISY_S = 0.40
QUICK_RETURN_WITHIN_S = 1.0
QUICK_RETURN_HOLD_S = 0.05


@dataclass
class Change:
    condition: Condition
    previous: Condition
    pending_since_frame: int  # first frame (end) at which the rule showed the new condition


class ConditionSmoother:
    """Fed one rule label every `hop` frames; reports a change once it has held long enough."""

    def __init__(self, hop: int, frame_s: float) -> None:
        self.hop = hop
        self.frame_s = frame_s
        self.condition: Condition = "silent"
        self._previous: Condition | None = None
        self._pending: Condition | None = None
        self._pending_count = 0
        self._pending_since = 0
        self._changed_at = -(10**9)

    @property
    def pending(self) -> bool:
        """True while a different condition is waiting out its hold."""
        return self._pending is not None

    def _hold_hops(self, new: Condition, frame: int) -> int:
        cur = self.condition
        hold = HOLD_S[new]
        if cur == "noisy" and new == "speech":
            hold = HOLD_SPEECH_AFTER_NOISY_S
        elif cur == "noisy" and new == "silent":
            hold = HOLD_SILENT_AFTER_NOISY_S
        recent = (frame - self._changed_at) * self.frame_s <= QUICK_RETURN_WITHIN_S
        if cur == "silent" and new in ("speech", "low_volume") and new == self._previous and recent:
            hold = QUICK_RETURN_HOLD_S
        return max(1, -(-round(hold / self.frame_s) // self.hop))  # ceil, in evaluations

    def step(self, frame: int, label: Condition) -> Change | None:
        """`frame`: index of the last frame of this evaluation; returns a change or None."""
        if label == self.condition:
            self._pending = None
            return None
        if label != self._pending:
            self._pending = label
            self._pending_count = 0
            self._pending_since = frame
        self._pending_count += 1
        if self._pending_count < self._hold_hops(label, frame):
            return None
        change = Change(label, self.condition, self._pending_since)
        self._previous = self.condition
        self.condition = label
        self._pending = None
        self._changed_at = frame
        return change
