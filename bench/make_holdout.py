#!/usr/bin/env python3
"""A held-out line-condition corpus: the dev corpus' rules with voices and noises dev never has.

    /tmp/corpus-venv/bin/python bench/make_holdout.py [--calls 120] [--out /tmp/holdout] [--jobs 2]
    /tmp/corpus-venv/bin/python bench/make_holdout.py --train --calls 480 [--out /tmp/caller_train]

`--train` builds instead the training split of bench/train_caller_model.py (TRAIN below): other
voices and other noise generators than the hold-out's, so the hold-out stays unheard.
`--train-extra` builds round 5's further training split (TRAIN_EXTRA: TRAIN's voices, seeds
95000+, folder <out>/train_extra) whose only noise is `procedural` (noise_procedural: layers of
randomly coloured noise, partial stacks and click trains under random envelopes, drawn from a
broad parametric space instead of imitating a named sound); TRAIN and HOLDOUT are unchanged, so
their splits regenerate bit for bit:

    /tmp/corpus-venv/bin/python bench/make_holdout.py --train-extra --calls 240 --out /tmp/caller_train_r5p

Wraps ../shared/corpus/make_corpus.py (imported, not copied: the label rules, segment structure,
levels, codecs, packet loss, sidecars and the label-rule check are exactly the dev corpus') and
adds one split, `holdout`, that differs only in its sources:

* caller voices: fr_CA_f_June (Romance, female), it_IT_m_Carlo (Romance, male), ru_RU_f_IvrvoiceRU
  (Slavic, female), es_MX_f_Allison (Romance; the dev speaker, another language) from the
  asterisk-core-sounds packages, and two tonal languages synthesised by espeak-ng (Mandarin, male
  variant; Vietnamese, female variant). espeak-ng is not a telephony recording; it stands in for
  the tonal languages no Debian telephony prompt set covers.
* noise kinds dev lacks: hum (50/60 Hz mains and harmonics), crackle (random clicks over a faint
  rustle), fan (low-passed broadband with a blade tone), car (engine harmonics over road rumble),
  music (synthesised notes, chords and drum hits), babble of the hold-out voices.
* seeds: call i uses seed 50000 + i (or --seed-base + i), so no call repeats a dev one.

Generated audio goes to <out>/holdout/ and is never committed. Score it like dev:

    .venv/bin/python bench/tune_detector.py /tmp/holdout/holdout
    .venv/bin/python bench/bench_generalise.py

Bench-only needs (not in setup.sh: no test uses them): the corpus venv of CORPUS.md §7
(/tmp/corpus-venv with numpy, scipy, soundfile; bench/bench_accuracy.py creates it), sox,
espeak-ng, and `apt-get install asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav
asterisk-core-sounds-ru-wav asterisk-core-sounds-es-wav`; for --train also `apt-get install
asterisk-prompt-it-menardi-wav asterisk-prompt-es-co asterisk-prompt-fr-armelle asterisk-moh-opsound-wav`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from typing import Any

import numpy as np

SHARED = os.environ.get("SOFTPHONE_ASSIST_SHARED",
                        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "corpus"))
import make_corpus as mc  # noqa: E402

ESPEAK_DIR = "/tmp/softphone-assist-holdout-espeak"

# Mandarin and Vietnamese call-centre phrases (what an IVR or a caller might say)
CMN = [
    "您好，请问有什么可以帮您的吗", "我的账户好像出了问题", "请稍等，我帮您查一下",
    "我昨天打过电话，但是没有人回复", "这个月的账单比上个月多了很多", "我想取消我的订单",
    "请问你们几点下班", "我的密码忘记了，怎么办", "快递已经三天没有更新了",
    "谢谢你的帮助，再见", "我听不清楚，你能再说一遍吗", "我要投诉，服务太慢了",
    "请把我转到经理那里", "我的地址是北京市朝阳区", "号码是一三八零零一二三四五六",
    "付款的时候显示错误", "我想改一下送货时间", "这个产品可以退货吗",
    "今天天气不好，我不想出门", "好的，我明白了，没问题", "你们的网站打不开",
    "信用卡被扣了两次钱", "我等了半个小时了", "能不能给我发一个确认短信",
]
VI = [
    "xin chào, tôi cần giúp đỡ về tài khoản", "tôi gọi lần thứ ba rồi mà chưa ai trả lời",
    "hóa đơn tháng này cao quá", "làm ơn chờ một chút", "tôi muốn hủy đơn hàng của tôi",
    "mật khẩu của tôi không dùng được", "cảm ơn anh rất nhiều", "chị có thể nói chậm lại được không",
    "gói hàng vẫn chưa đến", "số điện thoại của tôi là không chín tám bảy sáu năm",
    "tôi không nghe rõ, xin nhắc lại", "dịch vụ này chậm quá", "tôi muốn nói chuyện với quản lý",
    "địa chỉ của tôi ở Hà Nội", "thẻ tín dụng bị trừ tiền hai lần", "được rồi, tôi hiểu rồi",
    "trang web của các bạn bị lỗi", "tôi đã đợi nửa tiếng rồi", "hẹn gặp lại, chúc một ngày tốt lành",
    "cho tôi hỏi mấy giờ cửa hàng đóng cửa", "tôi muốn đổi thời gian giao hàng",
    "sản phẩm này có được đổi trả không", "vui lòng gửi tin nhắn xác nhận cho tôi",
]
ESPEAK_POOLS = {"espeak/cmn+m3": ("cmn+m3", CMN), "espeak/vi+f2": ("vi+f2", VI)}

_asterisk_pool_files = mc.pool_files


def espeak_pool_files(pool: str) -> list[str]:
    """WAVs of one espeak-ng voice, synthesised once into ESPEAK_DIR (rate varied per phrase)."""
    voice, phrases = ESPEAK_POOLS[pool]
    folder = os.path.join(ESPEAK_DIR, voice)
    os.makedirs(folder, exist_ok=True)
    out = []
    for k, text in enumerate(phrases):
        path = os.path.join(folder, f"{k:02d}.wav")
        if not os.path.exists(path):
            speed = 135 + (k * 7) % 45  # 135-179 words a minute, a fixed spread
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path, text], check=True)
        out.append(path)
    return out


def pool_files(pool: str) -> list[str]:
    if pool in GSM_POOLS:
        return gsm_pool_files(pool)
    return espeak_pool_files(pool) if pool in ESPEAK_POOLS else _asterisk_pool_files(pool)


FS = mc.FS


def _lowpass_noise(rng: np.random.Generator, n: int, corner: float, exponent: float) -> np.ndarray:
    """Gaussian noise, flat below `corner` Hz and falling as 1/f**exponent above it."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / FS)
    spec *= 1.0 / np.sqrt(1.0 + (f / corner) ** exponent)
    spec[f < 20.0] = 0.0
    return np.fft.irfft(spec, n)


def noise_hum(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with odd and even harmonics to ~1 kHz (a ground loop), slow drift."""
    f0 = float(rng.choice([50.0, 60.0])) * (1.0 + rng.uniform(-0.002, 0.002))
    t = np.arange(n) / FS
    x = np.zeros(n)
    for h in range(1, 20):
        amp = rng.uniform(0.2, 1.0) / h ** rng.uniform(0.3, 1.2)
        x += amp * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
    x *= 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    return mc._unit(x + 0.01 * rng.standard_normal(n))


def noise_crackle(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A bad line or connector: random clicks (heavy-tailed sizes, short ringing) over a rustle."""
    rate = rng.uniform(30.0, 300.0)  # clicks per second
    count = rng.poisson(rate * n / FS)
    x = np.zeros(n)
    pos = rng.integers(0, n, size=count)
    np.add.at(x, pos, rng.standard_normal(count) * np.minimum(1.0 + rng.pareto(2.5, size=count), 6.0))
    ring = np.exp(-np.arange(int(0.002 * FS)) / (0.0004 * FS)) * np.cos(
        2 * np.pi * rng.uniform(1000, 3000) * np.arange(int(0.002 * FS)) / FS)
    x = np.convolve(x, ring)[:n]
    x = mc._unit(x) + 0.05 * mc._unit(_lowpass_noise(rng, n, 2000.0, 2.0))
    return mc._unit(x)


def noise_fan(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A desk fan or air conditioning: broadband noise rolling off above a few hundred Hz, plus the
    blade-pass tone and its harmonics, gently modulated by the rotation."""
    x = mc._unit(_lowpass_noise(rng, n, rng.uniform(300.0, 900.0), 2.0))
    t = np.arange(n) / FS
    blade = rng.uniform(80.0, 200.0)
    tone = sum(np.sin(2 * np.pi * blade * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3))
    x = x + rng.uniform(0.1, 0.5) * mc._unit(tone)
    return mc._unit(x * (1.0 + 0.15 * np.sin(2 * np.pi * blade / 40.0 * t)))


def noise_car(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Inside a moving car: road rumble below ~200 Hz, engine firing harmonics whose speed drifts,
    some wind noise higher up."""
    t = np.arange(n) / FS
    rumble = mc._unit(_lowpass_noise(rng, n, rng.uniform(80.0, 200.0), 4.0))
    rpm_hz = rng.uniform(25.0, 60.0) * (1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    phase = 2 * np.pi * np.cumsum(rpm_hz) / FS
    engine = mc._unit(sum(np.sin(h * phase) / h for h in (1, 2, 3, 4, 6)))
    wind = mc._unit(_lowpass_noise(rng, n, 1500.0, 2.0))
    return mc._unit(rumble + rng.uniform(0.2, 0.6) * engine + rng.uniform(0.1, 0.4) * wind)


def noise_music(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Background music or hold music: a melody and chords of harmonic notes on a scale, with
    attack/decay envelopes, and drum hits on the beat."""
    x = np.zeros(n)
    bpm = rng.uniform(70.0, 140.0)
    beat = int(60.0 / bpm * FS)
    root = rng.uniform(110.0, 220.0)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])
    pos = 0
    while pos < n:
        dur = beat * int(rng.choice([1, 1, 2, 1])) // int(rng.choice([1, 2]))
        k = np.arange(min(dur, n - pos))
        env = np.minimum(k / (0.01 * FS), 1.0) * np.exp(-k / (rng.uniform(0.15, 0.6) * FS))
        notes = [root * 2 ** (scale[int(rng.integers(len(scale)))] / 12.0) * 2]  # melody
        if rng.random() < 0.5:  # a chord under it
            c = int(rng.integers(0, 5))
            notes += [root * 2 ** (scale[c + d] / 12.0) for d in (0, 2, 4)]
        for f in notes:
            tone = sum(np.sin(2 * np.pi * f * h * k / FS) * 0.6 ** h for h in range(1, 6) if f * h < 7000)
            x[pos : pos + k.size] += env * tone
        pos += max(dur, 1)
    for b in range(0, n, beat):  # drum: a short noise burst with a fast decay
        k = np.arange(min(int(0.08 * FS), n - b))
        x[b : b + k.size] += 0.8 * rng.standard_normal(k.size) * np.exp(-k / (0.015 * FS))
    return mc._unit(x)


HOLDOUT = {
    "seed_base": 50000,
    "max_calls": 200,
    "pools": {"fr": ["fr_CA_f_June"], "it": ["it_IT_m_Carlo"], "ru": ["ru_RU_f_IvrvoiceRU"],
              "es": ["es_MX_f_Allison"], "cmn": ["espeak/cmn+m3"], "vi": ["espeak/vi+f2"]},
    "pool_weights": {"fr": 0.2, "it": 0.2, "ru": 0.2, "es": 0.1, "cmn": 0.15, "vi": 0.15},
    "babble_pools": ["fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU", "espeak/cmn+m3"],
    "noise_types": {"hum": 1 / 6, "crackle": 1 / 6, "fan": 1 / 6, "car": 1 / 6, "music": 1 / 6,
                    "babble": 1 / 6},
}


# ---------------------------------------------------------------------------------------------
# The training split (`--train`): material for bench/train_caller_model.py that shares neither a
# voice nor a noise generator with the hold-out split, so the hold-out stays a test of lines the
# model never heard. Voices: it_IT_f_Menardi (Italian, female; hold-out has the male Carlo),
# Colombian Spanish (asterisk-prompt-es-co), French by Armelle Desjardins (asterisk-prompt-fr-armelle),
# the dev speaker en_US Allison, and espeak-ng German, Polish and Cantonese (other languages and
# variants than the hold-out's). Noises: real music on hold (asterisk-moh-opsound-wav, 8 kHz
# recordings), small-group babble (2-5 talkers) and crowd babble of the training voices, typing and
# rain (impulsive), a machine drone (harmonic, pitch wandering), traffic swells, wind gusts, and the
# dev corpus' own five kinds; since round 3 also synthesised music of four other styles (plucked
# arpeggios, pads under a vibrato lead, electronic dance music, a rubato piano), a television or
# radio in the room, a café (reverberant talkers, clinking cups), handling noise and bursty radio
# static (the noise weights changed with them, so the first 400 calls are not those of round 2).
# Seeds 90000 + i.
# ---------------------------------------------------------------------------------------------
GSM_POOLS = {"gsm/es_co": "/usr/share/asterisk/sounds/es", "gsm/fr_armelle": "/usr/share/asterisk/sounds/fr"}
GSM_DIR = "/tmp/softphone-assist-train-gsm"
MOH_DIR = "/usr/share/asterisk/moh"
DE = [
    "guten tag, ich habe ein problem mit meiner rechnung", "können sie mir bitte helfen",
    "ich warte schon seit einer halben stunde", "meine kundennummer ist vier acht sieben zwei",
    "das paket ist immer noch nicht angekommen", "ich möchte meinen vertrag kündigen",
    "vielen dank, auf wiederhören", "könnten sie das bitte wiederholen", "die verbindung ist sehr schlecht",
    "ich rufe wegen meiner bestellung an", "wann haben sie morgen geöffnet", "das ist leider nicht richtig",
]
PL = [
    "dzień dobry, mam problem z moim kontem", "czy może mi pan pomóc", "czekam już pół godziny",
    "mój numer klienta to siedem trzy dwa jeden", "paczka wciąż nie dotarła", "chcę anulować zamówienie",
    "dziękuję bardzo, do widzenia", "proszę powtórzyć jeszcze raz", "rachunek jest za wysoki w tym miesiącu",
    "dzwonię w sprawie reklamacji", "o której godzinie jest otwarte biuro", "nie słyszę pana dobrze",
]
YUE = [
    "你好，我想查詢一下我嘅賬單", "唔該你幫我睇吓", "我已經等咗半個鐘", "我嘅電話號碼係九八七六五四三二",
    "個包裹仲未到", "我想取消呢個訂單", "多謝你，拜拜", "你可唔可以講多一次", "今個月收費貴咗好多",
    "我打嚟投訴", "你哋幾點關門", "我聽唔清楚",
]
TRAIN_ESPEAK = {"espeak/de+m2": ("de+m2", DE), "espeak/pl+f3": ("pl+f3", PL), "espeak/yue+m1": ("yue+m1", YUE)}


def gsm_pool_files(pool: str) -> list[str]:
    """The GSM prompts of a pool as WAVs (sox, once, into GSM_DIR), tones and animal noises excluded."""
    src = GSM_POOLS[pool]
    out = []
    for f in sorted(glob.glob(os.path.join(src, "**", "*.gsm"), recursive=True)):
        if any(w in os.path.basename(f) for w in mc.EXCLUDE_WORDS):
            continue
        dst = os.path.join(GSM_DIR, pool, os.path.relpath(f, src)[:-4] + ".wav")
        if not os.path.exists(dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            subprocess.run(["sox", "-D", "-R", "-t", "gsm", "-r", "8000", f, "-b", "16", dst], check=True)
        out.append(dst)
    return out


_MOH: list[np.ndarray] = []


def noise_moh(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Recorded music on hold: an excerpt of one of the asterisk-moh-opsound tracks, at 16 kHz."""
    if not _MOH:
        from scipy.signal import resample_poly

        for f in sorted(glob.glob(os.path.join(MOH_DIR, "*.wav"))):
            x, fs = mc._read_any(f)
            _MOH.append(resample_poly(x, FS, fs))
    track = _MOH[int(rng.integers(len(_MOH)))]
    a = int(rng.integers(0, track.size - n))
    return mc._unit(track[a : a + n].copy() + 1e-3 * rng.standard_normal(n))


def noise_group(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A few other people talking nearby (2-5 talkers), or a crowd (the corpus' 6-10)."""
    if rng.random() < 0.5:
        return mc.noise_babble(rng, n, ctx)
    pool = ctx["babble_items"]
    out = np.zeros(n)
    for _ in range(int(rng.integers(2, 6))):
        pos = int(rng.integers(0, FS // 2))
        while pos < n:
            _, u = pool[int(rng.integers(len(pool)))]
            k = min(u.size, n - pos)
            out[pos : pos + k] += u[:k] * 10 ** (rng.uniform(-6, 3) / 20)
            pos += k + int(rng.uniform(0.05, 0.8) * FS)
    return mc._unit(out + 1e-3 * rng.standard_normal(n))


def noise_typing(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Keyboard typing (bursts of 5-15 ms broadband clicks, 3-12 a second, in words) or rain
    (hundreds of tiny drops a second over a hiss)."""
    x = np.zeros(n)
    if rng.random() < 0.5:
        pos = 0
        rate = rng.uniform(3.0, 12.0)
        while pos < n:
            k = int(rng.uniform(0.005, 0.015) * FS)
            seg = rng.standard_normal(k) * np.exp(-np.arange(k) / (0.3 * k)) * rng.uniform(0.3, 1.0)
            x[pos : pos + min(k, n - pos)] += seg[: n - pos]
            gap = rng.exponential(1.0 / rate) + (rng.uniform(0.3, 1.0) if rng.random() < 0.15 else 0.0)
            pos += k + int(gap * FS)
        return mc._unit(x + 0.02 * mc._unit(rng.standard_normal(n)))
    count = rng.poisson(rng.uniform(200.0, 1500.0) * n / FS)
    np.add.at(x, rng.integers(0, n, size=count), rng.standard_normal(count) * rng.exponential(1.0, count))
    drop = np.exp(-np.arange(int(0.003 * FS)) / (0.0005 * FS))
    return mc._unit(mc._unit(np.convolve(x, drop)[:n]) + 0.3 * mc._unit(_lowpass_noise(rng, n, 3000.0, 2.0)))


def noise_drone(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A machine (compressor, printer motor): a harmonic drone at 90-300 Hz whose pitch wanders,
    over some broadband noise."""
    t = np.arange(n) / FS
    f0 = rng.uniform(90.0, 300.0) * (1.0 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / FS
    x = sum(np.sin(h * phase + rng.uniform(0, 6.3)) * rng.uniform(0.2, 1.0) / h for h in range(1, 12))
    return mc._unit(mc._unit(x) + rng.uniform(0.1, 0.5) * mc._unit(_lowpass_noise(rng, n, 1000.0, 2.0)))


def noise_traffic(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A street: low-passed noise that swells as vehicles pass (every 1-4 s)."""
    t = np.arange(n) / FS
    env = np.full(n, 0.3)
    pos = rng.uniform(-1.0, 1.0)
    while pos < n / FS + 1.0:
        env += rng.uniform(0.5, 2.0) * np.exp(-((t - pos) / rng.uniform(0.4, 1.2)) ** 2)
        pos += rng.uniform(1.0, 4.0)
    return mc._unit(env * mc._unit(_lowpass_noise(rng, n, rng.uniform(200.0, 600.0), 2.0)))


def noise_wind(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Wind on the microphone: low-frequency noise in gusts (random modulation at 0.3-3 Hz)."""
    env = np.abs(_lowpass_noise(rng, n, rng.uniform(0.3, 3.0), 4.0))
    env = env / (env.mean() + 1e-12) + 0.2
    return mc._unit(env * mc._unit(_lowpass_noise(rng, n, rng.uniform(150.0, 500.0), 3.0)))


# New training noise kinds (round 3; none is a hold-out generator): other music styles than the
# hold-out's note-and-drum synthesiser, a television or radio in the room, a café, handling
# noise on the microphone and bursty radio static.
_SCALES = (np.array([0, 2, 3, 5, 7, 8, 10]), np.array([0, 2, 4, 7, 9]), np.array([0, 3, 5, 7, 10]),
           np.array([0, 2, 4, 5, 7, 9, 11]))


def _note_hz(rng: np.random.Generator, root: float, scale: np.ndarray, low: int, high: int) -> float:
    step = int(rng.integers(low, high))
    return float(root * 2 ** ((12 * (step // scale.size) + scale[step % scale.size]) / 12.0))


def _pluck(rng: np.random.Generator, hz: float, k: int) -> np.ndarray:
    """A Karplus-Strong plucked string: a noise burst through a damped delay loop."""
    from scipy.signal import lfilter

    period = max(int(FS / hz), 2)
    burst = np.zeros(k)
    burst[: min(period, k)] = rng.uniform(-1.0, 1.0, min(period, k))
    a = np.zeros(period + 2)
    a[0] = 1.0
    a[period] = a[period + 1] = -0.5 * rng.uniform(0.985, 0.998)
    return np.asarray(lfilter([1.0], a, burst))


def _band_pass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return np.asarray(sosfilt(butter(order, [lo, min(hi, FS / 2 - 100.0)], btype="bandpass", fs=FS,
                                     output="sos"), x))


def noise_band(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Background music of other styles than the hold-out's: plucked-string arpeggios over a bass,
    sustained synthesiser pads under a vibrato lead (a voice-like line), electronic dance music
    (kick, snare, hi-hat, square bass, off-beat chords) or a piano with pedalled, stretched-partial
    notes played rubato."""
    style = int(rng.integers(4))
    t = np.arange(n) / FS
    x = np.zeros(n)
    root = rng.uniform(80.0, 200.0)
    scale = _SCALES[int(rng.integers(len(_SCALES)))]
    beat = 60.0 / rng.uniform(60.0, 170.0)
    if style == 0:  # plucked arpeggios and a bass
        step = beat / float(rng.choice([2, 3, 4]))
        pos = rng.uniform(0.0, step)
        while pos < n / FS:
            a = int(pos * FS)
            k = min(int(rng.uniform(0.4, 1.5) * FS), n - a)
            x[a : a + k] += _pluck(rng, _note_hz(rng, root * 2, scale, 0, 12), k) * rng.uniform(0.5, 1.0)
            if rng.random() < 0.25:
                x[a : a + k] += 1.5 * _pluck(rng, _note_hz(rng, root / 2, scale, 0, 5), k)
            pos += step * (1.0 + rng.uniform(-0.05, 0.05))
    elif style == 1:  # pads and a vibrato lead
        pos = 0.0
        while pos < n / FS:
            dur = beat * float(rng.choice([4, 8]))
            a, k = int(pos * FS), min(int(dur * 1.3 * FS), n - int(pos * FS))
            kk = np.arange(k) / FS
            env = np.minimum(kk / rng.uniform(0.2, 0.6), 1.0) * np.exp(-np.maximum(kk - dur, 0.0) / 0.3)
            chord = [_note_hz(rng, root, scale, 0, 10) for _ in range(3)]
            for f in chord:
                for det in (0.997, 1.003):  # detuned sawtooth pair
                    ph = (f * det * kk + rng.uniform()) % 1.0
                    x[a : a + k] += 0.25 * env * _band_pass(2 * ph - 1, 60.0, 2500.0)
            pos += dur
        lead = np.zeros(n)
        pos = rng.uniform(0.0, 1.0)
        while pos < n / FS:
            dur = beat * float(rng.choice([0.5, 1, 1, 2, 3]))
            a, k = int(pos * FS), min(int(dur * FS), n - int(pos * FS))
            kk = np.arange(k) / FS
            f = _note_hz(rng, root * 2, scale, 0, 14) * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * kk))
            ph = 2 * np.pi * np.cumsum(f) / FS
            env = np.minimum(kk / 0.05, 1.0) * np.minimum((dur - kk) / 0.05, 1.0)
            lead[a : a + k] = env * sum(np.sin(h * ph) * rng.uniform(0.3, 1.0) / h for h in range(1, 8))
            pos += dur + (beat * rng.uniform(0.5, 2.0) if rng.random() < 0.2 else 0.0)
        x = mc._unit(x) + rng.uniform(0.3, 1.0) * mc._unit(lead + 1e-9)
    elif style == 2:  # electronic dance music
        step = beat / 2
        f = _note_hz(rng, root / 2, scale, 0, 5)
        for i, b in enumerate(np.arange(rng.uniform(0.0, step), n / FS, step)):
            a = int(b * FS)
            k = min(int(0.25 * FS), n - a)
            kk = np.arange(k) / FS
            if i % 2 == 0:  # kick: a falling sine
                sweep = np.cumsum(50 + 120 * np.exp(-kk / 0.03)) / FS
                x[a : a + k] += 1.5 * np.sin(2 * np.pi * sweep) * np.exp(-kk / 0.12)
            if i % 4 == 2:  # snare
                x[a : a + k] += 0.6 * (rng.standard_normal(k) + np.sin(2 * np.pi * 190 * kk)) * np.exp(-kk / 0.06)
            hat = rng.standard_normal(min(int(0.04 * FS), k))  # hi-hat
            x[a : a + hat.size] += 0.3 * np.diff(hat, prepend=0.0) * np.exp(-np.arange(hat.size) / (0.008 * FS))
            if i % 2 == 0:  # the bass moves on the beat
                f = _note_hz(rng, root / 2, scale, 0, 5)
            x[a : a + k] += 0.4 * np.sign(np.sin(2 * np.pi * f * kk)) * np.exp(-kk / 0.15)
            if i % 2 == 1 and rng.random() < 0.7:
                for g in [_note_hz(rng, root * 2, scale, 0, 8) for _ in range(3)]:
                    x[a : a + k] += 0.2 * np.sin(2 * np.pi * g * kk) * np.exp(-kk / 0.08)
        x = _band_pass(x, 30.0, 7000.0)
    else:  # piano, rubato, with the pedal down
        pos = 0.0
        while pos < n / FS:
            a = int(pos * FS)
            k = min(int(rng.uniform(1.0, 3.0) * FS), n - a)
            kk = np.arange(k) / FS
            for f in [_note_hz(rng, root, scale, 0, 18) for _ in range(int(rng.integers(1, 4)))]:
                decay = rng.uniform(0.4, 1.5)
                for h in range(1, 9):
                    fh = f * h * np.sqrt(1 + 0.0004 * h * h)  # stretched partials
                    if fh < 7000:
                        x[a : a + k] += np.sin(2 * np.pi * fh * kk) * np.exp(-kk * h / decay) / h
            pos += beat * float(rng.choice([0.5, 1, 1, 1.5, 2])) * rng.uniform(0.8, 1.25)
    x = x * (1.0 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t))  # the mix breathes
    return mc._unit(x + 1e-3 * rng.standard_normal(n))


def _room(rng: np.random.Generator, x: np.ndarray, rt: float) -> np.ndarray:
    """A talker or a loudspeaker across a room: the direct sound plus a decaying noise tail."""
    from scipy.signal import fftconvolve

    k = int(rt * FS)
    ir = rng.standard_normal(k) * np.exp(-np.arange(k) / (rt / 6.9 * FS)) * 0.3
    ir[0] = 1.0
    return np.asarray(fftconvolve(x, ir)[: x.size])


def _talker(rng: np.random.Generator, n: int, pool: list[Any], gap_s: tuple[float, float]) -> np.ndarray:
    out = np.zeros(n)
    pos = int(rng.integers(0, FS // 3))
    while pos < n:
        _, u = pool[int(rng.integers(len(pool)))]
        k = min(u.size, n - pos)
        out[pos : pos + k] += u[:k] * 10 ** (rng.uniform(-3, 3) / 20)
        pos += k + int(rng.uniform(*gap_s) * FS)
    return out


def noise_tv(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A television or radio in the room: one or two presenters (training voices) through a small
    loudspeaker (band-limited, reverberant), often over a music bed or applause."""
    pool = ctx["babble_items"]
    voice = np.zeros(n)
    for _ in range(int(rng.integers(1, 3))):
        voice = voice + _talker(rng, n, pool, (0.05, 0.5))
    x = mc._unit(_room(rng, _band_pass(voice, rng.uniform(150.0, 400.0), rng.uniform(3000.0, 6000.0)),
                       rng.uniform(0.2, 0.6)) + 1e-9)
    extra = rng.random()
    if extra < 0.4:
        x = x + rng.uniform(0.2, 0.6) * mc._unit(noise_band(rng, n, ctx))
    elif extra < 0.6:  # applause: dense claps
        claps = np.zeros(n)
        c = rng.poisson(rng.uniform(100.0, 400.0) * n / FS)
        np.add.at(claps, rng.integers(0, n, size=c), rng.standard_normal(c))
        claps = _band_pass(np.convolve(claps, np.exp(-np.arange(80) / 15.0))[:n], 500.0, 6000.0)
        env = np.clip(np.sin(np.pi * np.arange(n) / n * rng.uniform(0.5, 2.0)), 0, None)
        x = x + rng.uniform(0.3, 1.0) * mc._unit(claps) * env
    return mc._unit(x + 1e-3 * rng.standard_normal(n))


def noise_cafe(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A café: a few talkers across a reverberant room, cups and cutlery clinking (damped
    high-pitched rings), now and then the hiss of a coffee machine."""
    pool = ctx["babble_items"]
    talk = np.zeros(n)
    for _ in range(int(rng.integers(2, 9))):
        talk = talk + _talker(rng, n, pool, (0.2, 1.5)) * 10 ** (rng.uniform(-8, 0) / 20)
    x = mc._unit(_room(rng, talk, rng.uniform(0.4, 1.0)) + 1e-9)
    clinks = np.zeros(n)
    pos = rng.exponential(0.5)
    while pos < n / FS:
        a = int(pos * FS)
        k = min(int(0.06 * FS), n - a)
        kk = np.arange(k) / FS
        for f in rng.uniform(1500.0, 7000.0, size=int(rng.integers(1, 4))):
            clinks[a : a + k] += np.sin(2 * np.pi * f * kk) * np.exp(-kk / rng.uniform(0.004, 0.02))
        pos += rng.exponential(1.0 / rng.uniform(0.5, 4.0))
    x = x + rng.uniform(0.5, 2.0) * clinks
    if rng.random() < 0.4:
        a = int(rng.uniform(0.0, 0.7) * n)
        k = min(int(rng.uniform(1.0, 3.0) * FS), n - a)
        x[a : a + k] += rng.uniform(0.3, 1.0) * _band_pass(rng.standard_normal(k), 2000.0, 7000.0)
    return mc._unit(x)


def noise_handling(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Handling noise: the phone rubbed against clothes or moved in the hand — scratchy broadband
    bursts of 50-400 ms and low thumps, at irregular times, over a little rustle."""
    x = np.zeros(n)
    pos = rng.exponential(0.3)
    while pos < n / FS:
        a = int(pos * FS)
        if rng.random() < 0.7:
            k = min(int(rng.uniform(0.05, 0.4) * FS), n - a)
            env = np.abs(_lowpass_noise(rng, k, rng.uniform(10.0, 40.0), 2.0)) if k > 32 else np.ones(k)
            x[a : a + k] += rng.uniform(0.3, 1.0) * env * np.diff(rng.standard_normal(k + 1))
        else:
            k = min(int(0.15 * FS), n - a)
            kk = np.arange(k) / FS
            x[a : a + k] += 2.0 * np.sin(2 * np.pi * rng.uniform(30.0, 90.0) * kk) * np.exp(-kk / 0.03)
        pos += rng.exponential(1.0 / rng.uniform(1.0, 6.0))
    return mc._unit(x + 0.05 * mc._unit(_lowpass_noise(rng, n, 1000.0, 2.0)))


def noise_static(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Radio-like static: clusters of clicks (tens within 20-100 ms), each cluster's clicks
    coloured by one resonance, over a hiss that swells and fades."""
    x = np.zeros(n)
    pos = rng.exponential(0.1)
    while pos < n / FS:
        a = int(pos * FS)
        span = int(rng.uniform(0.02, 0.1) * FS)
        m = int(rng.integers(5, 50))
        burst = np.zeros(span)
        np.add.at(burst, rng.integers(0, span, size=m), rng.standard_normal(m))
        lo = rng.uniform(300.0, 2500.0)
        burst = _band_pass(burst, lo, lo * rng.uniform(1.5, 3.0)) * rng.uniform(0.3, 1.5)
        k = min(span, n - a)
        x[a : a + k] += burst[:k]
        pos += rng.exponential(1.0 / rng.uniform(2.0, 20.0))
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.8) * np.arange(n) / FS + rng.uniform(0, 6.3))
    return mc._unit(mc._unit(x + 1e-9) + rng.uniform(0.1, 0.5) * swell * rng.standard_normal(n))


# --- round 5: a procedural noise family (domain randomisation, training side only) ---------------
# Not an imitation of any named sound: every layer is drawn from a broad parametric space, so that
# the model meets many noise shapes no named generator has. No talkers (that is babble).

def _proc_spectrum(rng: np.random.Generator, f: np.ndarray) -> np.ndarray:
    """A random amplitude response over frequencies f: a power-law slope, 0-4 random resonant
    peaks or notches (log-Gaussian, +-24 dB), random high- and low-pass corners."""
    g = (np.maximum(f, 20.0) / 1000.0) ** (rng.uniform(-2.5, 1.0) / 2.0)
    lf = np.log(np.maximum(f, 1.0))
    for _ in range(int(rng.integers(0, 5))):
        fc = np.exp(rng.uniform(np.log(60.0), np.log(6000.0)))
        width = rng.uniform(0.03, 0.8)  # in natural-log frequency
        g = g * 10 ** (rng.uniform(-24.0, 24.0) / 20.0 * np.exp(-0.5 * ((lf - np.log(fc)) / width) ** 2))
    if rng.random() < 0.5:
        hp = np.exp(rng.uniform(np.log(20.0), np.log(800.0)))
        g = g / np.sqrt(1.0 + (hp / np.maximum(f, 1.0)) ** (2 * int(rng.integers(1, 5))))
    if rng.random() < 0.5:
        lp = np.exp(rng.uniform(np.log(400.0), np.log(7500.0)))
        g = g / np.sqrt(1.0 + (f / lp) ** (2 * int(rng.integers(1, 5))))
    g[f < 20.0] = 0.0
    return np.asarray(g)


def _proc_colour(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """x through a random spectral envelope (_proc_spectrum)."""
    spec = np.fft.rfft(x)
    return np.fft.irfft(spec * _proc_spectrum(rng, np.fft.rfftfreq(x.size, 1.0 / FS)), x.size)


def _proc_trajectory(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random frequency-ratio trajectory (1.0 = the layer's f0): constant, slow drift, vibrato,
    glides, steps, or a step sequence with vibrato."""
    t = np.arange(n) / FS
    kind = int(rng.integers(5))
    if kind == 0:
        r = np.ones(n)
    elif kind == 1:  # slow drift: smoothed noise in log frequency
        r = np.exp(rng.uniform(0.01, 0.3) * mc._unit(_lowpass_noise(rng, n, rng.uniform(0.05, 1.0), 4.0)))
    elif kind == 2:  # vibrato / FM
        r = 2 ** (rng.uniform(0.005, 0.5) * np.sin(2 * np.pi * rng.uniform(0.5, 15.0) * t + rng.uniform(0, 6.3)))
    elif kind == 3:  # glides: repeated exponential sweeps, up or down, or one long one
        period = rng.uniform(0.1, 6.0)
        span = rng.uniform(-3.0, 3.0)  # octaves
        r = 2 ** (span * ((t / period + rng.uniform()) % 1.0))
    else:  # steps: piecewise-constant ratios at random times
        r = np.ones(n)
        pos = 0
        mean = rng.uniform(0.05, 1.5)
        while pos < n:
            k = max(1, int(rng.exponential(mean) * FS))
            r[pos : pos + k] = 2 ** rng.uniform(-1.5, 1.5)
            pos += k
        if rng.random() < 0.5:
            r = r * 2 ** (rng.uniform(0.002, 0.05) * np.sin(2 * np.pi * rng.uniform(3.0, 10.0) * t))
    return np.asarray(r)


def _proc_partials(rng: np.random.Generator, n: int) -> np.ndarray:
    """A stack of 1-40 sinusoids over a random f0 (30 Hz - 3 kHz): harmonic, stretched, or
    random inharmonic ratios, amplitudes a random roll-off times jitter, on a random trajectory."""
    f0 = np.exp(rng.uniform(np.log(30.0), np.log(3000.0)))
    count = int(rng.integers(1, 41))
    mode = int(rng.integers(3))
    h = np.arange(1, count + 1, dtype=np.float64)
    if mode == 1:
        h = h * np.sqrt(1.0 + rng.uniform(1e-4, 0.02) * h * h)
    elif mode == 2:
        h = np.sort(np.concatenate([[1.0], rng.uniform(1.0, 25.0, count - 1)]))
    amps = h ** -rng.uniform(0.0, 2.0) * rng.uniform(0.2, 1.0, count)
    traj = _proc_trajectory(rng, n)
    phase = 2 * np.pi * np.cumsum(f0 * traj) / FS
    fmax = f0 * float(traj.max())
    x = np.zeros(n)
    for hk, a in zip(h, amps, strict=True):
        if hk * fmax < 7500.0:
            x += a * np.sin(hk * phase + rng.uniform(0, 2 * np.pi))
    if not np.any(x):
        x = np.sin(phase)
    return x


def _proc_clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Impulses at a random density (0.5-1000 a second), regular, jittered or Poisson, sizes
    constant, exponential or heavy-tailed, each shaped by a random kernel (a sample, a decaying
    noise burst, a damped sinusoid), then coloured by a random spectral envelope."""
    rate = np.exp(rng.uniform(np.log(0.5), np.log(1000.0)))
    timing = int(rng.integers(3))
    if timing == 2:
        pos = rng.integers(0, n, size=max(1, rng.poisson(rate * n / FS)))
    else:
        step = FS / rate
        pos = np.arange(rng.uniform(0, step), n, step)
        if timing == 1:
            pos = pos + rng.normal(0.0, rng.uniform(0.05, 0.5) * step, pos.size)
        pos = np.clip(pos, 0, n - 1).astype(np.int64)
    sizes = [np.ones(pos.size), rng.exponential(1.0, pos.size),
             np.minimum(1.0 + rng.pareto(rng.uniform(1.2, 3.0), pos.size), 20.0)][int(rng.integers(3))]
    x = np.zeros(n)
    np.add.at(x, pos, sizes * rng.choice([-1.0, 1.0], pos.size))
    shape = int(rng.integers(3))
    k = max(2, int(rng.uniform(0.0002, 0.03) * FS))
    kk = np.arange(k)
    if shape == 1:
        ker = rng.standard_normal(k) * np.exp(-kk / (rng.uniform(0.1, 0.5) * k))
    elif shape == 2:
        ker = np.sin(2 * np.pi * rng.uniform(100.0, 6000.0) * kk / FS) * np.exp(-kk / (rng.uniform(0.1, 0.5) * k))
    else:
        ker = np.zeros(k)
        ker[0] = 1.0
    return _proc_colour(rng, np.convolve(x, ker)[:n])


def _proc_envelope(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random temporal envelope: stationary, amplitude modulation (0.3-30 Hz, sine / square /
    saw, random depth), gating in bursts of random on and off times, slow swells, or repeated
    decays; sometimes two of them multiplied."""
    t = np.arange(n) / FS
    env = np.ones(n)
    for _ in range(1 if rng.random() < 0.7 else 2):
        kind = int(rng.integers(5))
        if kind == 1:
            ph = 2 * np.pi * np.exp(rng.uniform(np.log(0.3), np.log(30.0))) * t + rng.uniform(0, 6.3)
            wave = [np.sin(ph), np.sign(np.sin(ph)), (ph / np.pi) % 2.0 - 1.0][int(rng.integers(3))]
            depth = rng.uniform(0.2, 1.0)
            env = env * (1.0 - depth * (0.5 - 0.5 * wave))
        elif kind == 2:  # bursts
            g = np.zeros(n)
            on_mean, off_mean = rng.uniform(0.03, 2.0), rng.uniform(0.03, 2.0)
            pos = int(rng.exponential(off_mean) * FS) if rng.random() < 0.5 else 0
            while pos < n:
                k = max(1, int(rng.exponential(on_mean) * FS))
                g[pos : pos + k] = rng.uniform(0.3, 1.0)
                pos += k + max(1, int(rng.exponential(off_mean) * FS))
            edge = max(1, int(rng.uniform(0.001, 0.05) * FS))
            g = np.convolve(g, np.ones(edge) / edge)[:n]
            env = env * (g + rng.uniform(0.0, 0.1))
        elif kind == 3:  # swells
            env = env * np.abs(_lowpass_noise(rng, n, rng.uniform(0.1, 3.0), 4.0)) + 1e-3
        elif kind == 4:  # repeated decays (or reversed: attacks)
            period = rng.uniform(0.1, 3.0)
            tau = rng.uniform(0.02, 1.0)
            ph = (t / period + rng.uniform()) % 1.0 * period
            d = np.exp(-ph / tau)
            env = env * (d[::-1] if rng.random() < 0.3 else d)
    return env


def noise_procedural(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Domain randomisation (training only): 1-3 layers, each coloured noise, a partial stack or a
    click train under a random temporal envelope, mixed at random gains (0 to -18 dB), sometimes
    through a short random room (0.05-0.8 s); no talker. Energy above 3.8 kHz is kept to at most
    30 % so the 8 kHz copy's levels stay inside the label rules' guard bands."""
    x = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(3))
        if kind == 0:
            layer = _proc_colour(rng, rng.standard_normal(n))
        elif kind == 1:
            layer = _proc_partials(rng, n)
        else:
            layer = _proc_clicks(rng, n)
        x += 10 ** (rng.uniform(-18.0, 0.0) / 20) * mc._unit(mc._unit(layer + 1e-12) * _proc_envelope(rng, n))
    if rng.random() < 0.3:
        x = _room(rng, x, rng.uniform(0.05, 0.8))
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1.0 / FS)
    spec[f < 20.0] = 0.0
    high = f >= 3800.0
    e_hi, e_all = float(np.sum(np.abs(spec[high]) ** 2)), float(np.sum(np.abs(spec) ** 2))
    if e_all > 0 and e_hi > 0.3 * e_all:  # scale the high band to 30 % of the total
        spec[high] *= np.sqrt(0.3 / 0.7 * (e_all - e_hi) / e_hi)
    return mc._unit(np.fft.irfft(spec, n) + 1e-4 * rng.standard_normal(n))


TRAIN = {
    "seed_base": 90000,
    "max_calls": 480,
    "pools": {"it": ["it_IT_f_Menardi"], "es": ["gsm/es_co"], "fr": ["gsm/fr_armelle"], "en": ["en_US_f_Allison"],
              "de": ["espeak/de+m2"], "pl": ["espeak/pl+f3"], "yue": ["espeak/yue+m1"]},
    "pool_weights": {"it": 0.2, "es": 0.2, "fr": 0.2, "en": 0.1, "de": 0.1, "pl": 0.1, "yue": 0.1},
    "babble_pools": ["it_IT_f_Menardi", "gsm/es_co", "gsm/fr_armelle", "en_US_f_Allison"],
    "noise_types": {"moh": 0.1, "band": 0.12, "group": 0.1, "tv": 0.08, "cafe": 0.08, "typing": 0.08,
                    "handling": 0.06, "static": 0.06, "drone": 0.06, "traffic": 0.05, "wind": 0.05,
                    "white": 0.03, "pink": 0.03, "brown": 0.03, "gsm_buzz": 0.03, "babble": 0.04},
}
# round 5's extra training split (--train-extra): TRAIN's voices, other seeds (95000+), and for its
# noise only the procedural family, so the round-3 split (and its validation calls) stays as it was
TRAIN_EXTRA = {
    "seed_base": 95000,
    "max_calls": 480,
    "pools": TRAIN["pools"],
    "pool_weights": TRAIN["pool_weights"],
    "babble_pools": TRAIN["babble_pools"],
    "noise_types": {"procedural": 1.0},
}


def install() -> None:
    mc.SPLITS["holdout"] = HOLDOUT
    mc.SPLITS["train"] = TRAIN
    mc.SPLITS["train_extra"] = TRAIN_EXTRA
    ESPEAK_POOLS.update(TRAIN_ESPEAK)
    mc.pool_files = pool_files
    mc.NOISES.update({"hum": noise_hum, "crackle": noise_crackle, "fan": noise_fan, "car": noise_car,
                      "music": noise_music, "moh": noise_moh, "group": noise_group, "typing": noise_typing,
                      "drone": noise_drone, "traffic": noise_traffic, "wind": noise_wind, "band": noise_band,
                      "tv": noise_tv, "cafe": noise_cafe, "handling": noise_handling, "static": noise_static,
                      "procedural": noise_procedural})


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    split = "holdout"
    if "--train" in args:  # the training split (see TRAIN): nothing in common with the hold-out's sources
        args.remove("--train")
        split = "train"
    if "--train-extra" in args:  # round 5's extra training split (TRAIN_EXTRA): procedural noise only
        args.remove("--train-extra")
        split = "train_extra"
    install()
    cfg = mc.SPLITS[split]
    missing = [p for v in cfg["pools"].values() for p in v  # type: ignore[attr-defined]
               if p not in ESPEAK_POOLS and p not in GSM_POOLS and not glob.glob(os.path.join(mc.ASTERISK, p))]
    if split == "train" and not glob.glob(os.path.join(MOH_DIR, "*.wav")):
        missing.append(MOH_DIR)
    if missing or shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise SystemExit(f"missing voices {missing} or espeak-ng/sox: see this script's docstring")
    if "--seed-base" in args:  # a second, untouched set: other seeds, same sources
        k = args.index("--seed-base")
        cfg["seed_base"] = int(args[k + 1])
        del args[k : k + 2]
    if "--calls" not in args:
        args += ["--calls", "120"]
    if "--out" not in args:
        args += ["--out", "/tmp/holdout" if split == "holdout" else "/tmp/caller_train"]
    mc.main(["--split", split, *args])


if __name__ == "__main__":
    main()
