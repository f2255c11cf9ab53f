"""Recorded-call reader: formats, rates, scaling, channel maps, blocks, streaming, bad and damaged files."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from softphone_assist.audio.reader import (
    ANALYSIS_RATES,
    CallReader,
    expected_out_len,
    open_call,
    parse_channel_map,
)
from softphone_assist.core.errors import InputError

RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
FORMATS = [("WAV", s) for s in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW")]
FORMATS += [("FLAC", s) for s in ("PCM_S8", "PCM_16", "PCM_24")]
# Worst error of a 0.5 full-scale tone after quantisation to the format (int16 scale).
# Measured worst cases over RATES: U8 321, S8 197, μ-law 637, A-law 541, PCM_16 1.25, others 0.02.
TOLERANCE = {"PCM_U8": 400.0, "PCM_S8": 300.0, "ULAW": 800.0, "ALAW": 800.0, "PCM_16": 2.0}
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison/hello-world.wav")


def tone(freq: float, rate: int, n: int, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)


def read_all(reader: CallReader, block_s: float = 0.25) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    callers, agents, sizes = [], [], []
    for caller, agent in reader.blocks(block_s):
        callers.append(caller)
        sizes.append(len(caller))
        if agent is not None:
            assert len(agent) == len(caller)
            agents.append(agent)
    agent_all = np.concatenate(agents) if agents else None
    return np.concatenate(callers), agent_all, sizes


def wav_bytes(
    tag: int, channels: int, rate: int, bits: int, data: bytes, data_size: int | None = None
) -> bytes:
    """A WAV file built by hand, for codes libsndfile must decode and headers it must survive."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHHH", tag, channels, rate, rate * align, align, bits, 0)
    fact = b"fact" + struct.pack("<II", 4, len(data) // align) if tag != 1 else b""
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + fact
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def ulaw_decode(code: int) -> int:
    """G.711 μ-law to 16-bit linear, the reference algorithm."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def alaw_decode(code: int) -> int:
    """G.711 A-law to 16-bit linear, the reference algorithm."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


# --------------------------------------------------------------------------------------------
# Formats and rates
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("container", "subtype"), FORMATS)
def test_every_format_and_rate_reads_at_the_analysis_rate(
    tmp_path: Path, rate: int, container: str, subtype: str
) -> None:
    n = round(1.3 * rate) + 7  # an awkward length, to exercise the output-length rounding
    path = tmp_path / f"call.{container.lower()}"
    sf.write(path, tone(440, rate, n), rate, subtype=subtype, format=container)
    with open_call(path) as reader:
        info = reader.info
        caller, agent, sizes = read_all(reader)
    out_rate = 8000 if rate == 8000 else 16000
    assert (info.source_rate, info.rate, info.channels, info.subtype) == (rate, out_rate, 1, subtype)
    assert (info.frames, info.duration_s, info.has_agent) == (n, n / rate, False)
    assert info.channel_map == ("caller",)
    assert agent is None
    assert len(caller) == round(n * out_rate / rate) == expected_out_len(n, rate, out_rate)
    assert sizes[:-1] == [out_rate // 4] * (len(sizes) - 1) and 0 < sizes[-1] <= out_rate // 4
    expected = 16384 * np.sin(2 * np.pi * 440 * np.arange(len(caller)) / out_rate)
    middle = slice(200, -200)  # the resampler rings at the hard start and end of the tone
    assert np.abs(caller - expected)[middle].max() < TOLERANCE.get(subtype, 0.1)
    assert reader.warnings == []


@pytest.mark.parametrize(("n_in", "rate", "n_out"), [(1, 32000, 1), (3, 32000, 2), (441, 44100, 160),
                                                    (11025, 11025, 16000), (7, 48000, 2), (5, 16000, 5)])
def test_expected_out_len_rounds_half_up(n_in: int, rate: int, n_out: int) -> None:
    assert expected_out_len(n_in, rate, 16000) == n_out


def test_analysis_rates() -> None:
    assert ANALYSIS_RATES == (8000, 16000)


# --------------------------------------------------------------------------------------------
# int16 scale
# --------------------------------------------------------------------------------------------
def test_pcm16_values_pass_through_exactly(tmp_path: Path) -> None:
    values = np.array([-32768, -1, 0, 1, 12345, 32767], dtype=np.int16)
    sf.write(tmp_path / "a.wav", values, 8000, subtype="PCM_16")
    with open_call(tmp_path / "a.wav") as reader:
        caller, _, _ = read_all(reader)
    assert caller.dtype == np.float64
    assert caller.tolist() == values.astype(float).tolist()


def test_24_bit_full_scale_maps_to_int16_full_scale(tmp_path: Path) -> None:
    top, bottom, mid = 0x7FFFFF, -0x800000, 0x123456
    data = np.array([top, bottom, mid, 0], dtype=np.int32) << 8  # soundfile writes the top 24 bits
    sf.write(tmp_path / "a.wav", data, 8000, subtype="PCM_24")
    with open_call(tmp_path / "a.wav") as reader:
        caller, _, _ = read_all(reader)
    assert caller.tolist() == [32767.0, -32768.0, mid / 256, 0.0]
    assert reader.clipped == {"caller": 0}  # the top code is full scale, not clipping


def test_32_bit_pcm_and_unsigned_8_bit(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", np.array([2**31 - 1, 1000 << 16, -(2**31)], dtype=np.int32), 8000,
             subtype="PCM_32")
    sf.write(tmp_path / "b.wav", np.array([-32768, 0, 256, 32512], dtype=np.int16), 8000, subtype="PCM_U8")
    with open_call(tmp_path / "a.wav") as a, open_call(tmp_path / "b.wav") as b:
        assert read_all(a)[0].tolist() == [32767.0, 1000.0, -32768.0]
        assert read_all(b)[0].tolist() == [-32768.0, 0.0, 256.0, 32512.0]


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_float_half_scale_is_16384(tmp_path: Path, subtype: str, rate: int) -> None:
    sf.write(tmp_path / "a.wav", np.array([0.5, -0.5, 0.25, 0.0]), rate, subtype=subtype)
    with open_call(tmp_path / "a.wav") as reader:
        assert read_all(reader)[0].tolist() == [16384.0, -16384.0, 8192.0, 0.0]


def test_float_beyond_full_scale_is_clipped_and_counted(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", np.array([1.5, -2.0, 0.25, 1.0, -1.0]), 8000, subtype="FLOAT")
    with open_call(tmp_path / "a.wav") as reader:
        caller, _, _ = read_all(reader)
    assert caller.tolist() == [32767.0, -32768.0, 8192.0, 32767.0, -32768.0]
    assert reader.clipped == {"caller": 2}
    assert reader.warnings == [f"{tmp_path / 'a.wav'}: 2 caller samples beyond full scale were clipped"]


@pytest.mark.parametrize(("tag", "subtype", "decode"), [(7, "ULAW", ulaw_decode), (6, "ALAW", alaw_decode)])
def test_g711_codes_decode_to_the_reference_values(
    tmp_path: Path, tag: int, subtype: str, decode: object
) -> None:
    codes = bytes(range(256))
    (tmp_path / "g711.wav").write_bytes(wav_bytes(tag, 1, 8000, 8, codes))
    with open_call(tmp_path / "g711.wav") as reader:
        assert reader.info.subtype == subtype
        caller, _, _ = read_all(reader)
    assert callable(decode)
    assert caller.tolist() == [float(decode(c)) for c in codes]
    assert max(caller) == (32124.0 if subtype == "ULAW" else 32256.0)


# --------------------------------------------------------------------------------------------
# Channel maps
# --------------------------------------------------------------------------------------------
def stereo_8k(tmp_path: Path, n: int = 1000) -> Path:
    """Left = 1000, right = -2000: which channel came out is plain from the values."""
    data = np.stack([np.full(n, 1000, np.int16), np.full(n, -2000, np.int16)], axis=1)
    sf.write(tmp_path / "stereo.wav", data, 8000, subtype="PCM_16")
    return tmp_path / "stereo.wav"


def test_stereo_default_is_agent_left_caller_right(tmp_path: Path) -> None:
    with open_call(stereo_8k(tmp_path)) as reader:
        assert reader.info.channel_map == ("agent", "caller") and reader.info.has_agent
        caller, agent, _ = read_all(reader)
    assert set(caller) == {-2000.0}
    assert agent is not None and set(agent) == {1000.0}


def test_caller_agent_map_swaps_the_channels(tmp_path: Path) -> None:
    with open_call(stereo_8k(tmp_path), channels="caller,agent") as reader:
        caller, agent, _ = read_all(reader)
    assert set(caller) == {1000.0}
    assert agent is not None and set(agent) == {-2000.0}


def test_ignored_channel_gives_no_agent(tmp_path: Path) -> None:
    with open_call(stereo_8k(tmp_path), channels="-,caller") as reader:
        assert not reader.info.has_agent
        caller, agent, _ = read_all(reader)
    assert agent is None and set(caller) == {-2000.0}


def test_channel_maps_pick_the_right_channel_after_resampling(tmp_path: Path) -> None:
    n = 44100
    data = np.stack([tone(300, 44100, n, 0.1), tone(1000, 44100, n, 0.5)], axis=1)
    sf.write(tmp_path / "s.wav", data, 44100, subtype="PCM_16")
    for spec, caller_rms in (("agent,caller", 0.5 / 2**0.5), ("caller,agent", 0.1 / 2**0.5)):
        with open_call(tmp_path / "s.wav", channels=spec) as reader:
            caller, agent, _ = read_all(reader)
        assert len(caller) == 16000 and agent is not None
        assert np.sqrt(np.mean(caller[100:-100] ** 2)) / 32768 == pytest.approx(caller_rms, rel=1e-3)


def test_more_than_two_channels_need_a_map(tmp_path: Path) -> None:
    data = np.stack([np.full(100, v, np.int16) for v in (1, 2, 3, 4)], axis=1)
    path = tmp_path / "four.wav"
    sf.write(path, data, 8000, subtype="PCM_16")
    with pytest.raises(InputError, match=r"4 channels; say which to use with --channels") as err:
        open_call(path)
    assert str(err.value).startswith(f"{path}: ") and "agent,caller,-,-" in str(err.value)
    with open_call(path, channels="agent,-,caller,-") as reader:
        caller, agent, _ = read_all(reader)
    assert set(caller) == {3.0} and agent is not None and set(agent) == {1.0}


def test_mono_file_with_a_stereo_map_is_an_error(tmp_path: Path) -> None:
    sf.write(tmp_path / "mono.wav", np.zeros(100, np.int16), 8000)
    with pytest.raises(InputError) as err:
        open_call(tmp_path / "mono.wav", channels="agent,caller")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'mono.wav'}: --channels agent,caller does not fit a mono file")


def test_map_must_name_every_channel(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--channels agent,caller,- names 3 channel\(s\) but the file has 2"):
        open_call(stereo_8k(tmp_path), channels="agent,caller,-")


def test_caller_alone_on_a_stereo_file_mixes_its_channels(tmp_path: Path) -> None:
    left, right = np.full(800, 1000, np.int16), np.full(800, 3000, np.int16)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 8000, subtype="PCM_16")
    with open_call(tmp_path / "st.wav", channels="caller") as reader:
        assert reader.info.channel_map == ("caller",) and not reader.info.has_agent
        blocks = list(reader.blocks(0.05))
    assert all(agent is None for _, agent in blocks)
    assert np.concatenate([c for c, _ in blocks]).tolist() == [2000.0] * 800


BAD_MAPS = ["left,right", "caller,caller", "agent", "agent,-", "", "caller,agent,agent"]


@pytest.mark.parametrize("spec", BAD_MAPS, ids=repr)
def test_bad_channel_maps_name_the_option(spec: str) -> None:
    with pytest.raises(InputError, match=rf"^--channels( {spec})?: "):
        parse_channel_map(spec)


@pytest.mark.parametrize(("spec", "roles"), [
    ("caller", ("caller",)), ("agent,caller", ("agent", "caller")),
    (" Caller , AGENT ", ("caller", "agent")), ("-,caller", ("-", "caller")),
])
def test_good_channel_maps(spec: str, roles: tuple[str, ...]) -> None:
    assert parse_channel_map(spec) == roles


# --------------------------------------------------------------------------------------------
# Blocks and streaming
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rate", "block_s", "n", "sizes"), [
    (16000, 1.0, 48000, [16000, 16000, 16000]),  # an exact multiple: no empty block at the end
    (16000, 0.02, 1000, [320, 320, 320, 40]),
    (8000, 0.03, 500, [240, 240, 20]),
    (48000, 0.01, 4805, [160] * 10 + [2]),  # 4805 * 16000 / 48000 = 1601.67 -> 1602 samples out
])
def test_block_sizes_are_exact(tmp_path: Path, rate: int, block_s: float, n: int, sizes: list[int]) -> None:
    sf.write(tmp_path / "a.wav", tone(200, rate, n), rate, subtype="PCM_16")
    with open_call(tmp_path / "a.wav") as reader:
        assert read_all(reader, block_s)[2] == sizes


def test_block_size_must_be_whole_samples_and_blocks_run_once(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", np.zeros(800, np.int16), 8000)
    with open_call(tmp_path / "a.wav") as reader:
        with pytest.raises(ValueError, match="not a whole number of samples"):
            reader.blocks(0.00001)
        with pytest.raises(ValueError):
            reader.blocks(0.0)
        list(reader.blocks(0.01))
        with pytest.raises(RuntimeError, match="only once"):
            reader.blocks(0.01)


def test_reading_is_lazy_and_in_bounded_chunks(tmp_path: Path) -> None:
    n = 48000 * 20
    sf.write(tmp_path / "long.wav", tone(440, 48000, n), 48000, subtype="PCM_16")
    with open_call(tmp_path / "long.wav") as reader:
        requests: list[int] = []
        real_read = reader._snd.read

        def spy(frames: int, **kwargs: object) -> np.ndarray:
            requests.append(frames)
            return real_read(frames, **kwargs)

        reader._snd.read = spy
        blocks = reader.blocks(1.0)
        first, _ = next(blocks)
        assert len(first) == 16000
        assert reader._snd.tell() <= 3 * 48000  # the first block came after a few reads, not all 20 s
        rest = sum(len(c) for c, _ in blocks)
    assert len(first) + rest == 320000
    assert max(requests) == 48000  # 1 s of source per read


def test_long_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    n = 48000 * 120  # two minutes of 48 kHz stereo: 92 MB as float64 if read at once
    data = (tone(440, 48000, n, 0.3) * 32767).astype(np.int16)
    sf.write(tmp_path / "long.wav", np.stack([data, data], axis=1), 48000, subtype="PCM_16")
    del data
    total = 0
    tracemalloc.start()
    try:
        with open_call(tmp_path / "long.wav") as reader:
            for caller, _agent in reader.blocks(1.0):
                total += len(caller)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 16000 * 120
    assert peak < 8_000_000


@pytest.mark.speech
@pytest.mark.skipif(not ALLISON.exists(), reason="asterisk-core-sounds-en-wav is not installed")
def test_real_speech_8k_passes_through_and_44k_stereo_resamples(tmp_path: Path) -> None:
    original, rate = sf.read(ALLISON, dtype="int16")
    assert rate == 8000
    with open_call(ALLISON) as reader:
        caller, agent, _ = read_all(reader, 0.02)
    assert agent is None and caller.tolist() == original.astype(float).tolist()
    speech_44k = soxr.resample(original / 32768.0, 8000, 44100)
    sf.write(tmp_path / "call.wav", np.stack([0.1 * speech_44k, speech_44k], axis=1), 44100, subtype="PCM_24")
    with open_call(tmp_path / "call.wav") as reader:
        caller, agent, _ = read_all(reader, 0.02)
    reference = soxr.resample(speech_44k, 44100, 16000) * 32768
    assert len(caller) == len(reference) == expected_out_len(len(speech_44k), 44100, 16000)
    assert np.corrcoef(caller, reference)[0, 1] > 0.9999
    assert agent is not None and np.corrcoef(agent, caller)[0, 1] > 0.9999


# --------------------------------------------------------------------------------------------
# Bad input: one InputError line naming the file
# --------------------------------------------------------------------------------------------
def make_bad(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.wav"
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only":
        sf.write(path, np.zeros((0, 1)), 8000, subtype="PCM_16")
    elif kind == "text":
        path.write_text("this is a shopping list, not a recording\n" * 5)
    elif kind == "unsupported_codec":
        path.write_bytes(wav_bytes(0x1234, 1, 8000, 8, bytes(800)))
    elif kind == "low_rate":
        sf.write(path, np.zeros(600, np.int16), 6000)
    elif kind == "unfinalised":
        path.write_bytes(wav_bytes(1, 1, 8000, 16, bytes(1600), data_size=0))
    elif kind == "cut_in_header":
        sf.write(path, tone(100, 8000, 800), 8000, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:44])  # the whole header, none of the data
    return path


@pytest.mark.parametrize(("kind", "problem"), [
    ("missing", "no such file"),
    ("directory", "is a directory, not an audio file"),
    ("empty", "empty file (0 bytes)"),
    ("header_only", "no audio in this file (0 frames)"),
    ("text", "not an audio file (soundfile: Format not recognised.)"),
    ("unsupported_codec", "damaged or unsupported WAV file, format tag 0x1234 (soundfile: "),
    ("low_rate", "sample rate 6000 Hz is below 8000 Hz"),
    ("unfinalised", "never finalised); repair it with `sox --ignore-length "),
    ("cut_in_header", "recording is truncated: header says 0.100 s, the file ends before the audio"),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, kind: str, problem: str) -> None:
    path = make_bad(tmp_path, kind)
    with pytest.raises(InputError) as err:
        open_call(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message


# --------------------------------------------------------------------------------------------
# Damaged recordings: replayed as far as they go, with a warning
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cut", "frames_left"), [(16000, 44000), (16001, 43999), (16003, 43999)])
def test_truncated_wav_replays_the_partial_audio(tmp_path: Path, cut: int, frames_left: int) -> None:
    data = (np.random.default_rng(1).uniform(-0.5, 0.5, (48000, 2)) * 32767).astype(np.int16)
    path = tmp_path / "cut.wav"
    sf.write(path, data, 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:-cut])  # 16000 bytes = 0.25 s of 16-bit stereo; +1, +3: mid-frame
    with open_call(path) as reader:
        assert reader.info.frames == frames_left
        caller, agent, _ = read_all(reader)
    assert reader.warnings == [f"{path}: recording is truncated: header says 3.000 s, data ends at "
                               f"{frames_left / 16000:.3f} s; replayed as far as it goes"]
    assert caller.tolist() == data[:frames_left, 1].astype(float).tolist()
    assert agent is not None and agent.tolist() == data[:frames_left, 0].astype(float).tolist()


def test_truncated_wav_is_resampled_to_the_exact_length(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, tone(300, 44100, 44100 * 2), 44100, subtype="PCM_24")
    path.write_bytes(path.read_bytes()[:-3 * 4410 - 2])  # 0.1 s and most of one more frame
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
    assert reader.info.frames == 44100 * 2 - 4411
    assert len(caller) == expected_out_len(44100 * 2 - 4411, 44100, 16000)
    assert "recording is truncated: header says 2.000 s, data ends at 1.900 s" in reader.warnings[0]


def test_unknown_data_size_is_not_truncation(tmp_path: Path) -> None:
    path = tmp_path / "open_ended.wav"
    path.write_bytes(wav_bytes(1, 1, 8000, 16, np.arange(800, dtype="<i2").tobytes(), data_size=0xFFFFFFFF))
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
    assert reader.warnings == [] and caller.tolist() == list(map(float, range(800)))


@pytest.mark.parametrize("damage", ["cut", "corrupt"])
def test_damaged_flac_stops_with_a_warning(tmp_path: Path, damage: str) -> None:
    data = (tone(440, 16000, 48000, 0.5) * 32767).astype(np.int16)
    path = tmp_path / "call.flac"
    sf.write(path, data, 16000, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    if damage == "cut":
        raw = raw[: len(raw) // 2]
    else:
        for i in range(len(raw) // 2, len(raw) // 2 + 2000):
            raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
    assert len(reader.warnings) == 1
    assert reader.warnings[0].startswith(f"{path}: read error at ")
    assert reader.warnings[0].endswith("; replayed as far as it goes")
    assert 0 < len(caller) < 48000 and len(caller) % 1600 == 0  # whole 0.1 s reads before the damage
    assert caller.tolist() == data[: len(caller)].astype(float).tolist()


# --------------------------------------------------------------------------------------------
# Non-finite samples, absurd rates, MPEG data under another name
# --------------------------------------------------------------------------------------------
def test_nan_and_inf_samples_are_read_as_silence_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    x = tone(440, 8000, 8000 * 3)
    x[8000 + 123 : 8000 + 923] = np.nan
    x[8000 * 2] = np.inf
    x[8000 * 2 + 1] = -np.inf
    sf.write(path, x.astype(np.float32), 8000, subtype="FLOAT")
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
        assert reader.warnings == [f"{path}: 802 samples are NaN or infinite (the first at 1.015 s); "
                                   "read as silence"]
    assert np.isfinite(caller).all()
    assert (caller[8000 + 123 : 8000 + 923] == 0).all() and caller[8000 * 2] == 0
    assert caller[:100] == pytest.approx(x[:100] * 32768, abs=0.02)  # the rest untouched


def test_a_file_of_nothing_but_nan_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "allnan.wav"
    sf.write(path, np.full((8000, 2), np.nan, dtype=np.float32), 8000, subtype="FLOAT")
    with pytest.raises(InputError, match=r"allnan.wav: no audio: every sample is NaN or infinite$"):
        open_call(path)


def test_nan_only_in_an_ignored_channel_is_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "st.wav"
    data = np.stack([np.full(8000, np.nan), tone(440, 8000, 8000)], axis=1)
    sf.write(path, data.astype(np.float32), 8000, subtype="FLOAT")
    with open_call(path, "-,caller") as reader:
        caller, agent, _ = read_all(reader)
        assert reader.warnings == [] and agent is None and np.isfinite(caller).all()


@pytest.mark.parametrize("claimed", [2_000_000_000, 192_001])
def test_a_header_claiming_an_absurd_rate_is_an_error_naming_it(tmp_path: Path, claimed: int) -> None:
    path = tmp_path / "rate.wav"
    path.write_bytes(wav_bytes(1, 1, 8000, 16, bytes(16000)))
    data = bytearray(path.read_bytes())
    data[24:32] = struct.pack("<II", claimed, min(claimed * 2, 2**32 - 1))
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        open_call(path)
    assert str(err.value) == (f"{path}: sample rate {claimed} Hz in the header is above 192000 Hz (a damaged "
                              "header?); recordings are read at 8, 11.025, 16, 22.05, 32, 44.1 and 48 kHz")


def test_96_khz_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "hi.wav"
    sf.write(path, tone(440, 96000, 96000), 96000, subtype="PCM_16")
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
    assert reader.info.rate == 16000 and len(caller) == 16000


MPEG_FRAME = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: silence


def test_a_real_mp3_named_wav_is_read(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(MPEG_FRAME * 100)
    with open_call(path) as reader:
        caller, _, _ = read_all(reader)
    assert reader.info.source_rate == 44100 and len(caller) > 16000 * 2


def test_damaged_mp3_named_wav_is_one_line_and_the_decoder_stays_quiet(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(MPEG_FRAME[:4] + b"garbage" * 500)
    with pytest.raises(InputError) as err:
        open_call(path)
    assert str(err.value) == (f"{path}: damaged MP3 (MPEG audio) data, not WAV: no audio could be decoded "
                              "(libmpg123: Illegal Audio-MPEG-Header 0x00000000 at offset 3500.)")
    assert capfd.readouterr().err == ""  # libmpg123's own "Note: …" lines did not reach the terminal


def test_damage_inside_mp3_data_is_a_warning_and_the_decoder_stays_quiet(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(MPEG_FRAME * 40 + b"garbage" * 50)
    with open_call(path) as reader:
        read_all(reader)
    assert capfd.readouterr().err == ""
    assert reader.warnings[-1] == (f"{path}: the decoder found damaged data (Illegal Audio-MPEG-Header "
                                   "0x67617262 at offset 16680.); replayed what it could decode")
