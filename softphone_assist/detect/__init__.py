"""Line-condition detectors (pure core: numpy only, no clock)."""

from softphone_assist.detect.framing import FRAME_S, frame_dbov, frame_len

__all__ = ["FRAME_S", "frame_dbov", "frame_len"]
