"""Line-condition detectors (pure core: numpy only, no clock, no audio library).

The pipeline frames each channel into 10 ms frames, computes webrtcvad decisions outside the
core, and feeds both to a `CallerLineTracker` (speech | silent | low_volume | noisy, by the
corpus label rules) and an `AgentSpeechTracker` (speech | silent with exact times).
"""

from softphone_assist.core.detect.agent import AgentSpeechTracker
from softphone_assist.core.detect.caller import CallerLineTracker
from softphone_assist.core.detect.framing import FRAME_S, frame_dbov, frame_len
from softphone_assist.core.detect.rules import rule_label

__all__ = ["FRAME_S", "AgentSpeechTracker", "CallerLineTracker", "frame_dbov", "frame_len", "rule_label"]
