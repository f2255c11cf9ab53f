"""Text-to-speech: render scripted lines with pyttsx3 in a worker process, cache them, play them.

    renderer = LineRenderer(platformdirs.user_cache_path("softphone-assist") / "tts")
    renderer.start()                                   # worker + engine start in the background
    voice = renderer.pick_voice("zh-CN")               # or pick_voice(locale, catalog) when polled
    speaker = Speaker(renderer, [resolve_output("pulse:agent_mic_in"), resolve_output("Headset")],
                      voice.id, rate=150)
    speaker.prerender(all_lines_of_the_script)
    speaker.speak(prompt.text)                         # then speaker.poll() from the GUI timer

pyttsx3 is imported only inside the worker process (engine.py); this package never blocks the
caller except in the helpers documented as blocking (render_blocking, list_voices, pick_voice).
"""

from softphone_assist.audio.playback import resolve_output
from softphone_assist.speech.cache import RenderCache, RenderedClip, RenderSpec
from softphone_assist.speech.errors import TtsEngineStuck, TtsError, TtsWorkerError
from softphone_assist.speech.render import LineRenderer
from softphone_assist.speech.speaker import (
    Speaker,
    SpeechEvent,
    SpeechFailed,
    SpeechFinished,
    SpeechStarted,
    TtsMode,
)
from softphone_assist.speech.voices import (
    VoiceCatalog,
    VoiceInfo,
    VoiceNotFoundError,
    pick_voice,
    rank_voices,
)
from softphone_assist.speech.worker import RenderWorker

__all__ = [
    "LineRenderer",
    "RenderCache",
    "RenderSpec",
    "RenderWorker",
    "RenderedClip",
    "Speaker",
    "SpeechEvent",
    "SpeechFailed",
    "SpeechFinished",
    "SpeechStarted",
    "TtsEngineStuck",
    "TtsError",
    "TtsMode",
    "TtsWorkerError",
    "VoiceCatalog",
    "VoiceInfo",
    "VoiceNotFoundError",
    "pick_voice",
    "rank_voices",
    "resolve_output",
]
