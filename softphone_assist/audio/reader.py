"""Recorded calls in, analysis-rate blocks out: the replay side of the audio edge.

Reads any file libsndfile decodes (WAV and FLAC at least: 8/16/24/32-bit integer, 32/64-bit
float, μ-law, A-law, 8 kHz and up) and hands out float64 blocks in int16 scale
(-32768..32767), or on request the int16 samples as stored where there are such (`blocks`), at the
analysis rate: 8000 Hz for 8 kHz input, 16000 Hz for everything else
(webrtcvad takes 8/16/32/48 kHz and telephony speech is at most 8 kHz wide).

Channel map (``--channels``): one role per file channel, in file order.
- mono: ``caller`` (the only map allowed: a mono recording is the caller alone);
- stereo: default ``agent,caller`` (left = agent, right = caller), or ``caller,agent``;
- more channels: no default; the map must name every channel, ``-`` for one to ignore,
  e.g. ``--channels agent,caller,-,-``. ``caller,-`` replays a stereo file without the agent.
- ``--channels caller`` on a file with several channels: a caller-only recording stored in more
  channels (a stereo export of a mono call, a sound server's monitor): the channels are mixed.

The file is streamed (1 s of source per read; 10 s for a WAV of 8/16-bit samples at the analysis
rate, read as int16) so a one-hour 48 kHz call never sits in memory.
A plain 16-bit PCM WAV (RIFF, format tag 1, a consistent header, nothing odd before its audio: the
recordings a softphone or a scorer's corpus holds) is read without libsndfile (`_PcmWav`: the
int16 samples as stored, the frame count libsndfile gives); everything else goes through
libsndfile. soundfile, soxr and tempfile are imported only when a file needs them.
Resampling is soxr streaming (HQ); the output holds exactly round(n_in * rate / source_rate)
samples (half up), with no drift and no lost tail.

Problems the user can fix raise InputError with one line starting with the file name; the CLI
may prefix it with the command. Damage found while reading does not raise: the call is
replayed as far as it goes and `CallReader.warnings` says what happened. Truncated WAVs are
found by comparing the RIFF ``data`` chunk size with the bytes on disk, because libsndfile
silently reports only the frames present; other formats are found short when reading ends
before the frame count of their header, or on a libsndfile read error (corrupt FLAC). A
truncated AIFF or W64 goes unnoticed (libsndfile reports the frames present, like for WAV).

The C libraries under libsndfile write their own notes to the process's stderr (libmpg123:
"Note: Illegal Audio-MPEG-Header…" for damaged MPEG data in a file of any name); file descriptor
2 points elsewhere while libsndfile works, and their first line is kept for our own message.
Float files may hold NaN or infinity: they are read as 0 (silence) with one warning saying how
many and where the first is; a file with no finite sample at all is an error. Source rates
above MAX_SOURCE_RATE (a damaged header claiming 2 GHz) are an error, not a 0-second replay.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple, Protocol

import numpy as np

from softphone_assist.core.errors import InputError

ANALYSIS_RATES = (8000, 16000)
ROLES = ("caller", "agent", "-")
INT16_SCALE = 32768.0  # libsndfile gives integer PCM as x / 2**(bits-1) and float as stored
_READ_S = 1.0  # source seconds per read: bounds memory (1 s), and what a read error can cost
# a WAV of 8/16-bit samples is read as stored (no decoder that could fail part-way for damage;
# truncation is found from the header): 10 s per read (0.3 MB at 16 kHz stereo), less overhead
_WAV_INT16_READ_S = 10.0
MAX_SOURCE_RATE = 192_000  # studio rates at most; soxr resamples anything up to here
README_RATES = "8, 11.025, 16, 22.05, 32, 44.1 and 48 kHz"
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # the only subtypes that can hold NaN or infinity
# at most 16 bits a sample: read as int16, which libsndfile gives exactly as the float read times
# 32768 (checked for every code of each), at a fraction of the cost, and never beyond full scale
_INT16_SUBTYPES = ("PCM_16", "PCM_S8", "PCM_U8", "ULAW", "ALAW")


@dataclass(frozen=True)
class CallInfo:
    path: Path
    source_rate: int
    rate: int  # analysis rate, one of ANALYSIS_RATES
    channels: int  # channels in the file
    subtype: str  # libsndfile subtype: PCM_16, PCM_24, FLOAT, ULAW, ...
    frames: int  # source frames libsndfile reports (for a truncated WAV: the frames present)
    duration_s: float  # frames / source_rate
    has_agent: bool
    channel_map: tuple[str, ...]  # one role per file channel: caller | agent | -


class _DataChunk(NamedTuple):
    """What a WAV header claims about its audio data (a NamedTuple: a tenth of a frozen dataclass's
    import cost, and only this module makes one)."""

    offset: int  # file offset of the first data byte
    size: int  # declared data bytes
    bytes_per_s: int  # nAvgBytesPerSec from 'fmt ', to turn bytes into seconds
    format_tag: int
    # the rest of 'fmt ' and the layout before 'data', for `_PcmWav` (0 / False when not read)
    channels: int = 0
    rate: int = 0
    block_align: int = 0
    bits: int = 0
    plain: bool = False  # RIFF (little-endian), one 'fmt ' of 16+ bytes before 'data', no odd-sized chunk


class _Source(Protocol):
    """What CallReader reads: a soundfile.SoundFile, or a `_PcmWav`."""

    samplerate: int
    channels: int
    frames: int
    subtype: str

    def read(self, frames: int, dtype: str, always_2d: bool) -> np.ndarray: ...

    def seek(self, frames: int) -> int: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...


def parse_channel_map(spec: str) -> tuple[str, ...]:
    """Parse ``--channels``: roles caller/agent/- separated by commas; one caller, at most one agent."""
    if not spec.strip():
        raise InputError("--channels: no roles given (use caller, agent or - per channel, e.g. agent,caller)")
    roles = tuple(part.strip().lower() for part in spec.split(","))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise InputError(f"--channels {spec}: unknown role {bad[0]!r} (use caller, agent or - per channel, "
                         f"e.g. agent,caller)")
    if roles.count("caller") != 1 or roles.count("agent") > 1:
        raise InputError(f"--channels {spec}: name exactly one caller channel and at most one agent channel")
    return roles


def analysis_rate(source_rate: int) -> int:
    return 8000 if source_rate == 8000 else 16000


def expected_out_len(n_in: int, source_rate: int, rate: int) -> int:
    """round(n_in * rate / source_rate), halves rounded up, in exact integer arithmetic."""
    return (2 * n_in * rate + source_rate) // (2 * source_rate)


def _read_wav_data_chunk(path: Path) -> _DataChunk | None:
    """Find the 'data' chunk of a RIFF/RIFX/RF64 WAVE file without reading the audio; None if not one."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
            return None
        end = "<" if head[:4] != b"RIFX" else ">"
        ds64_size: int | None = None
        bytes_per_s, tag = 0, 0
        fmt: tuple[int, int, int, int] = (0, 0, 0, 0)  # channels, rate, block align, bits
        fmt_chunks, plain = 0, head[:4] == b"RIFF"
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, size = hdr[:4], struct.unpack(end + "I", hdr[4:])[0]
            if cid == b"data":
                if head[:4] == b"RF64" and size == 0xFFFFFFFF and ds64_size is not None:
                    size = ds64_size
                return _DataChunk(f.tell(), size, bytes_per_s, tag, *fmt, plain=plain and fmt_chunks == 1)
            plain = plain and size % 2 == 0
            body = f.read(min(size, 64)) if cid in (b"fmt ", b"ds64") else b""
            if cid == b"fmt " and len(body) >= 12:
                tag, channels, rate, bytes_per_s = struct.unpack(end + "HHII", body[:12])
                fmt_chunks += 1
                plain = plain and len(body) >= 16
                if len(body) >= 16:
                    fmt = (channels, rate, *struct.unpack(end + "HH", body[12:16]))
            elif cid == b"ds64" and len(body) >= 16:
                ds64_size = struct.unpack(end + "Q", body[8:16])[0]
            f.seek(f.tell() - len(body) + size + (size & 1))


class _CStderr:
    """While active, file descriptor 2 goes to a temporary file: the C libraries' notes stay off the
    user's terminal, and `lines` keeps them. Python's own writes to sys.stderr pass unchanged."""

    def __init__(self) -> None:
        self._tmp: IO[bytes] | None = None  # made by the first `quiet`, reused by every read
        self.lines: list[str] = []

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all (a service without stderr): nothing to keep quiet
            yield
            return
        if self._tmp is None:
            import tempfile

            self._tmp = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the reader
        self._tmp.seek(0)
        self._tmp.truncate()
        os.dup2(self._tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            self._tmp.seek(0)
            text = self._tmp.read(4096).decode("utf-8", "replace")
            self.lines += [line.strip() for line in text.splitlines() if line.strip()]

    def first(self) -> str | None:
        return _clean_note(self.lines[0]) if self.lines else None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.close()


class _PcmWav:
    """A plain 16-bit PCM WAV read as stored, with the SoundFile calls CallReader makes.

    `open` takes a file only when nothing in its header could make libsndfile see it differently:
    RIFF, format tag 1 (WAVE_FORMAT_PCM), 16 bits, block align = 2 x channels, bytes per second =
    rate x block align, a rate CallReader accepts, a data size neither 0 (never finalised) nor
    0xFFFFFFFF, one 'fmt ' chunk and no odd-sized chunk before 'data', a little-endian machine.
    `frames` is what libsndfile reports: the whole frames of the data chunk, or of the bytes on disk
    when the file is shorter (a truncated recording). tests/test_replay_speed_paths.py holds the two readers
    to the same info and samples.
    """

    subtype = "PCM_16"

    def __init__(self, path: Path, chunk: _DataChunk) -> None:
        self.samplerate, self.channels = chunk.rate, chunk.channels
        self._align = chunk.block_align
        self.frames = min(chunk.size, path.stat().st_size - chunk.offset) // self._align
        self._offset = chunk.offset
        self._pos = 0
        self._f = path.open("rb", buffering=0)

    @classmethod
    def open(cls, path: Path, chunk: _DataChunk | None) -> _PcmWav | None:
        if chunk is None or not chunk.plain or sys.byteorder != "little":
            return None
        if chunk.format_tag != 1 or chunk.bits != 16 or not 1 <= chunk.channels <= 64:
            return None
        if chunk.block_align != 2 * chunk.channels or chunk.bytes_per_s != chunk.rate * chunk.block_align:
            return None
        if not 8000 <= chunk.rate <= MAX_SOURCE_RATE or chunk.size in (0, 0xFFFFFFFF):
            return None
        wav = cls(path, chunk)
        wav.seek(0)
        return wav

    def read(self, frames: int, dtype: str = "int16", always_2d: bool = True) -> np.ndarray:
        if dtype != "int16" or not always_2d:
            raise ValueError("_PcmWav reads int16 frames, 2-d")
        n = max(0, min(frames, self.frames - self._pos))
        data = np.empty((n, self.channels), dtype=np.int16)
        if n == 0:
            return data
        view, got = data.data.cast("B"), 0
        while got < len(view):
            k = self._f.readinto(view[got:])
            if not k:
                break
            got += k
        n = got // self._align  # the file shrank while being read: what is there
        self._pos += n
        return data[:n]

    def seek(self, frames: int) -> int:
        self._pos = frames
        self._f.seek(self._offset + frames * self._align)
        return frames

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._f.close()


def _clean_note(line: str) -> str:
    """A C library's note without libmpg123's source-position prefix and its "Note: "."""
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
    return line.removeprefix("Note: ")


def _is_mpeg(magic: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame sync (11 set bits) at the start: MP3 data, whatever the name."""
    return magic[:3] == b"ID3" or (len(magic) >= 2 and magic[0] == 0xFF and magic[1] & 0xE0 == 0xE0)


def _open_error(path: Path, detail: str, c_note: str | None = None) -> InputError:
    """Say whether the file is not audio at all or a WAV/FLAC libsndfile cannot decode."""
    try:
        with path.open("rb") as f:
            magic = f.read(12)
        chunk = _read_wav_data_chunk(path)
    except OSError:
        magic, chunk = b"", None
    if _is_mpeg(magic):  # libsndfile then says "File does not exist or is not a regular file"
        kind = "MP3 (MPEG audio) data" + (f", not {path.suffix[1:].upper()}" if path.suffix.lower() not in
                                          ("", ".mp3", ".mp2", ".mpga") else "")
        return InputError(f"{path}: damaged {kind}: no audio could be decoded"
                          f"{f' (libmpg123: {c_note})' if c_note else ''}")
    if magic[8:12] == b"WAVE":
        tag = f", format tag 0x{chunk.format_tag:04x}" if chunk and chunk.format_tag else ""
        return InputError(f"{path}: damaged or unsupported WAV file{tag} (soundfile: {detail})")
    if magic[:4] == b"fLaC":
        return InputError(f"{path}: damaged or unsupported FLAC file (soundfile: {detail})")
    if "malformed" in detail.lower():  # libsndfile knows the format (AIFF, CAF, ...) but cannot parse it
        return InputError(f"{path}: damaged audio file (soundfile: {detail})")
    return InputError(f"{path}: not an audio file (soundfile: {detail})")


def _resolve_map(path: Path, channels: int, spec: str | None) -> tuple[str, ...]:
    if spec is None:
        if channels == 1:
            return ("caller",)
        if channels == 2:
            return ("agent", "caller")
        raise InputError(f"{path}: {channels} channels; say which to use with --channels, one role per "
                         f"channel (caller, agent or -), e.g. --channels agent,caller{',-' * (channels - 2)}")
    roles = parse_channel_map(spec)
    if channels == 1 and roles != ("caller",):
        raise InputError(f"{path}: --channels {spec} does not fit a mono file: mono is the caller alone "
                         f"(use --channels caller or leave --channels out)")
    if roles == ("caller",):
        return roles  # a caller-only recording stored in several channels: they are mixed
    if len(roles) != channels:
        raise InputError(f"{path}: --channels {spec} names {len(roles)} channel(s) "
                         f"but the file has {channels}")
    return roles


def open_call(path: str | Path, channels: str | None = None) -> CallReader:
    """Open a recorded call for replay; `channels` is the ``--channels`` value (None: the default map)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not an audio file")
    c_stderr = _CStderr()
    try:
        if p.stat().st_size == 0:
            raise InputError(f"{p}: empty file (0 bytes)")
        chunk = _read_wav_data_chunk(p)
        wav = _PcmWav.open(p, chunk)
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    if wav is not None:
        try:
            return CallReader(p, wav, chunk, channels, c_stderr)
        except BaseException:
            wav.close()
            raise
    import soundfile as sf

    try:
        with c_stderr.quiet():
            snd: _Source = sf.SoundFile(str(p))
    except sf.LibsndfileError as e:
        c_stderr.close()
        raise _open_error(p, e.error_string.strip(), c_stderr.first()) from None
    except OSError as e:
        c_stderr.close()
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    except BaseException:
        c_stderr.close()
        raise
    try:
        return CallReader(p, snd, chunk, channels, c_stderr)
    except BaseException:
        snd.close()
        c_stderr.close()
        raise


class CallReader:
    """An open recording: `info` at once, then `blocks()` once; close it (or use it as a context manager).

    `warnings` holds one line per problem found, each starting with the file name; it is complete
    once `blocks()` is exhausted. `clipped` counts, per role, output samples whose magnitude
    exceeded full scale (32768) before they were clipped into -32768..32767: float input above
    1.0, or resampler overshoot of a full-scale signal. The top code of 24/32-bit PCM
    (32767.99...) is clipped to 32767 without being counted.
    """

    def __init__(self, path: Path, snd: _Source, chunk: _DataChunk | None, channels: str | None,
                 c_stderr: _CStderr | None = None) -> None:
        self._snd = snd
        self._c_stderr = c_stderr or _CStderr()
        # only libsndfile's C libraries write notes on fd 2, and only it raises its own read errors
        self._quiet: Callable[[], AbstractContextManager[None]] = self._c_stderr.quiet
        self._read_errors: tuple[type[BaseException], ...] = (OSError,)
        if isinstance(snd, _PcmWav):
            self._quiet = contextlib.nullcontext
        else:
            import soundfile  # already loaded: it opened `snd`

            self._read_errors = (soundfile.LibsndfileError, RuntimeError)
        self._c_noted = len(self._c_stderr.lines)  # notes already seen (opening a file that then worked)
        self.warnings: list[str] = []
        self.clipped: dict[str, int] = {}
        self._used = False
        sr, frames = snd.samplerate, snd.frames
        if sr < 8000:
            raise InputError(f"{path}: sample rate {sr} Hz is below 8000 Hz; "
                             f"telephone audio needs at least 8 kHz")
        if sr > MAX_SOURCE_RATE:
            raise InputError(f"{path}: sample rate {sr} Hz in the header is above {MAX_SOURCE_RATE} Hz "
                             f"(a damaged header?); recordings are read at {README_RATES}")
        if frames <= 0:
            if chunk is not None and chunk.size > 0 and chunk.bytes_per_s > 0:
                raise InputError(f"{path}: recording is truncated: header says "
                                 f"{chunk.size / chunk.bytes_per_s:.3f} s, the file ends before the audio")
            if chunk is not None and chunk.size == 0 and path.stat().st_size > chunk.offset:
                raise InputError(f"{path}: the WAV header says there is no audio but data follows it "
                                 f"(a recording that was never finalised); repair it with "
                                 f"`sox --ignore-length {path} fixed.wav`")
            raise InputError(f"{path}: no audio in this file (0 frames)")
        roles = _resolve_map(path, snd.channels, channels)
        self.info = CallInfo(
            path=path, source_rate=sr, rate=analysis_rate(sr), channels=snd.channels,
            subtype=snd.subtype, frames=frames, duration_s=frames / sr,
            has_agent="agent" in roles, channel_map=roles,
        )
        self._cols = [roles.index("caller")] + ([roles.index("agent")] if "agent" in roles else [])
        self._mix = roles == ("caller",) and snd.channels > 1  # e.g. a stereo export of a mono call
        self._int16 = snd.subtype in _INT16_SUBTYPES
        self._read_s = _WAV_INT16_READ_S if self._int16 and chunk is not None else _READ_S
        self._header_s: float | None = None  # duration the header claims, when the data falls short
        # float data may hold NaN/inf: read as 0, counted, the first one's time said
        self._nonfinite_at = 0.0
        self._nonfinite = snd.subtype in _FLOAT_SUBTYPES and self._scan_nonfinite(path)
        self._nonfinite_count = 0
        if chunk is not None and chunk.size != 0xFFFFFFFF and chunk.bytes_per_s > 0:
            on_disk = path.stat().st_size - chunk.offset
            if chunk.size > on_disk:
                self._header_s = chunk.size / chunk.bytes_per_s
                self.warnings.append(
                    f"{path}: recording is truncated: header says {self._header_s:.3f} s, data ends at "
                    f"{self.info.duration_s:.3f} s; replayed as far as it goes")

    def __enter__(self) -> CallReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._snd.close()
        self._c_stderr.close()

    def _scan_nonfinite(self, path: Path) -> bool:
        """Read a float file once ahead: does it hold NaN/inf in a used channel? None of it finite: error."""
        frames, sr = max(1, round(self.info.source_rate * _READ_S)), self.info.source_rate
        finite = total = 0
        first: int | None = None
        n_read = 0
        try:
            while True:
                with self._quiet():
                    data = self._snd.read(frames, dtype="float64", always_2d=True)
                if len(data) == 0:
                    break
                used = data[:, sorted(set(self._cols))] if not self._mix else data
                ok = np.isfinite(used)
                finite += int(ok.sum())
                total += ok.size
                if first is None and not ok.all():
                    first = n_read + int(np.argmin(ok.all(axis=1)))
                n_read += len(data)
        except self._read_errors:
            pass  # found again, and reported, by the real read
        finally:
            self._snd.seek(0)
        if total and not finite:
            raise InputError(f"{path}: no audio: every sample is NaN or infinite")
        if first is None:
            return False
        self._nonfinite_at = first / sr
        return True

    def blocks(self, block_s: float = 1.0, int16: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yield (caller, agent) float64 int16-scale blocks at `info.rate`; agent is None without one.

        Every block holds exactly round(block_s * rate) samples except the last, which holds the rest.
        `int16`: where the samples are int16 as stored (16-bit or narrower PCM at the analysis rate,
        channels not mixed) the blocks are int16 arrays of the same values: a consumer that hands
        them to webrtcvad (int16 PCM) and converts them to float64 itself skips a float64 copy and
        its conversion back (Pipeline does). Other files give float64 blocks either way.
        """
        n_block = round(block_s * self.info.rate)
        if block_s <= 0 or n_block < 1 or abs(n_block - block_s * self.info.rate) > 1e-6:
            raise ValueError(f"block_s={block_s} is not a whole number of samples at {self.info.rate} Hz")
        if self._used:
            raise RuntimeError("CallReader.blocks() can be iterated only once")
        self._used = True
        return self._generate(n_block, int16)

    def _generate(self, n_block: int, int16: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        nch = len(self._cols)
        if self._int16 and self.info.source_rate == self.info.rate:
            yield from self._direct(n_block, nch, np.int16 if int16 and not self._mix else np.float64)
        else:
            yield from self._resampled(n_block, nch)
        for role, count in self.clipped.items():
            if count:
                self.warnings.append(f"{self.info.path}: {count} {role} samples beyond full scale "
                                     f"were clipped")
        if self._nonfinite_count:
            self.warnings.append(f"{self.info.path}: {self._nonfinite_count} samples are NaN or infinite "
                                 f"(the first at {self._nonfinite_at:.3f} s); read as silence")
        if (note := self._c_note()) is not None:
            self.warnings.append(f"{self.info.path}: the decoder found damaged data ({note}); "
                                 f"replayed what it could decode")

    def _direct(self, n_block: int, nch: int,
                dtype: type[np.generic]) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """int16 samples at the analysis rate: straight into each channel's block of `dtype` (int16,
        or float64: exact either way; a mix of channels is float64), with nothing to count or clip."""
        for role in ("caller", "agent")[:nch]:
            self.clipped.setdefault(role, 0)
        outs = [np.empty(n_block, dtype=dtype) for _ in range(nch)]
        fill = 0
        raw = not self._mix  # the file's frames as read: each used column is picked while copying
        cols = self._cols if raw else [0]
        for chunk in self._read_source(max(1, round(self.info.source_rate * self._read_s)), raw=raw):
            pos, n = 0, len(chunk)
            while pos < n:
                k = min(n_block - fill, n - pos)
                for j, out in zip(cols, outs, strict=True):
                    out[fill : fill + k] = chunk[pos : pos + k, j]
                fill += k
                pos += k
                if fill == n_block:
                    yield outs[0], (outs[1] if nch > 1 else None)
                    outs = [np.empty(n_block, dtype=dtype) for _ in range(nch)]
                    fill = 0
        if fill:
            last = [out[:fill].copy() for out in outs]
            yield last[0], (last[1] if nch > 1 else None)

    def _resampled(self, n_block: int, nch: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Through soxr when the rates differ; float samples are counted and clipped into int16 range."""
        src, rate = self.info.source_rate, self.info.rate
        if src == rate:
            rs = None
        else:
            import soxr

            rs = soxr.ResampleStream(src, rate, nch, dtype="float64", quality="HQ")
        pending: list[np.ndarray] = []
        n_pending = n_in = n_out = 0
        for chunk in self._read_source(max(1, round(src * _READ_S))):
            n_in += len(chunk)
            x = np.asarray(chunk, dtype=np.float64)  # int16 samples: the values the float read gives
            out = rs.resample_chunk(x) if rs is not None else x
            pending.append(out)
            n_pending += len(out)
            if n_pending >= n_block:
                buf = np.concatenate(pending)
                n_full = len(buf) - len(buf) % n_block
                for start in range(0, n_full, n_block):
                    yield self._emit(buf[start : start + n_block])
                n_out += n_full
                pending, n_pending = [buf[n_full:]], len(buf) - n_full
        if rs is not None:
            pending.append(rs.resample_chunk(np.zeros((0, nch)), last=True))
        buf = np.concatenate(pending) if pending else np.zeros((0, nch))
        # soxr's streamed total is exact in every case measured; this only guards the contract.
        missing = expected_out_len(n_in, src, rate) - n_out - len(buf)
        buf = np.concatenate([buf, np.zeros((missing, nch))]) if missing > 0 else buf[: len(buf) + missing]
        for start in range(0, len(buf), n_block):
            yield self._emit(buf[start : start + n_block])

    def _read_source(self, frames: int, raw: bool = False) -> Iterator[np.ndarray]:
        """Yield the used channels of the source, in int16 scale, until the end or a read error;
        `raw` (int16 reads of a file not mixed into the caller): every channel, as read."""
        n_read, sr = 0, self.info.source_rate
        dtype = "int16" if self._int16 else "float64"
        while True:
            try:
                with self._quiet():
                    data = self._snd.read(frames, dtype=dtype, always_2d=True)
            except self._read_errors as e:
                detail = getattr(e, "error_string", str(e)).strip()
                if (note := self._c_note()) is not None:
                    detail += f"; {note}"
                self.warnings.append(
                    f"{self.info.path}: read error at {n_read / sr:.3f} s of {self.info.duration_s:.3f} s "
                    f"(soundfile: {detail}); replayed as far as it goes")
                return
            if len(data) == 0:
                break
            n_read += len(data)
            if self._nonfinite:
                bad = ~np.isfinite(data)
                if bad.any():
                    self._nonfinite_count += int(bad[:, sorted(set(self._cols))].sum()) if not self._mix \
                        else int(bad.sum())
                    data = np.where(bad, 0.0, data)
            if self._int16:  # already in int16 scale (the mean of ints is exact as in float)
                yield data.mean(axis=1, keepdims=True) if self._mix else data if raw else data[:, self._cols]
            elif self._mix:
                yield data.mean(axis=1, keepdims=True) * INT16_SCALE
            else:
                yield data[:, self._cols] * INT16_SCALE
        if n_read < self.info.frames and self._header_s is None:
            self.warnings.append(
                f"{self.info.path}: recording is truncated: header says {self.info.duration_s:.3f} s, data "
                f"ends at {n_read / sr:.3f} s; replayed as far as it goes")

    def _c_note(self) -> str | None:
        """The first C-library note not reported yet (and mark all as reported)."""
        lines = self._c_stderr.lines[self._c_noted:]
        self._c_noted = len(self._c_stderr.lines)
        return _clean_note(lines[0]) if lines else None

    def _emit(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        roles = ("caller", "agent")
        outs: list[np.ndarray] = []
        for i in range(block.shape[1]):
            x = np.array(block[:, i], dtype=np.float64)  # a contiguous copy the consumer may keep
            over = int(np.count_nonzero(np.abs(x) > INT16_SCALE))
            self.clipped[roles[i]] = self.clipped.get(roles[i], 0) + over
            np.clip(x, -INT16_SCALE, INT16_SCALE - 1.0, out=x)
            outs.append(x)
        return outs[0], (outs[1] if len(outs) > 1 else None)
