#!/usr/bin/env python3
"""Hold-out C: a line-condition corpus whose voices and noises no earlier set and no tuning saw.

    /tmp/corpus-venv/bin/python bench/make_holdout_c.py [--calls 120] [--out /tmp/holdout_c] [--jobs 2]

Why a third hold-out: hold-outs A and B (bench/make_holdout.py) were looked at while the caller
detector was tuned, so they are validation sets now. C was written before any of that tuning
looked at it, and it is only scored (bench/bench_generalise.py), never used to choose.

Same rules as every other split (it wraps ../shared/corpus/make_corpus.py through make_holdout.py:
label rules, segment structure, levels, codecs, packet loss, sidecars, the label-rule check); only
the sources differ, and none of them is in dev, the training split, A or B:

* caller voices: espeak-ng Brazilian Portuguese (Romance), Czech (Slavic), Thai (tonal) and
  Japanese; and two recorded voices made into other voices by sox's `pitch` (the Russian female
  voice 4.5 semitones lower, the Italian male voice 3 semitones higher; formants move with the pitch).
* noise kinds: a television in the room (a talker of another voice over a music bed), a cafe
  (cups and cutlery clinking over a murmur), a vacuum cleaner (broadband roar with a motor whine),
  a siren passing in the street (a wail sweeping 600-1,500 Hz, with its Doppler swell), plucked-string
  music (Karplus-Strong guitar: the hold-out's music is additive synthesis, the training split's is
  recorded music on hold), and a drill or hammer (periodic bursts).
* seeds: call i uses seed 70000 + i.

Needs what make_holdout.py needs (its docstring) and sox.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_holdout as mh

mc = mh.mc
FS = mc.FS
PITCH_DIR = "/tmp/softphone-assist-holdout-c-pitch"

PT = [
    "olá, eu preciso de ajuda com a minha conta", "estou esperando há meia hora", "a fatura veio errada este mês",
    "pode repetir, por favor", "quero cancelar o meu pedido", "o meu número de cliente é quatro cinco oito",
    "a encomenda ainda não chegou", "muito obrigado, tchau", "a ligação está muito ruim",
    "eu liguei ontem e ninguém respondeu", "qual é o horário de atendimento", "não consigo entrar no site",
    "cobraram duas vezes no meu cartão", "quero falar com o gerente", "tudo bem, entendi",
]
CS = [
    "dobrý den, mám problém s účtem", "čekám už půl hodiny", "faktura za tento měsíc je špatně",
    "můžete to prosím zopakovat", "chci zrušit svou objednávku", "moje zákaznické číslo je sedm dva devět",
    "balík pořád nedorazil", "děkuji mnohokrát, na shledanou", "špatně vás slyším",
    "volal jsem včera a nikdo to nevzal", "kdy máte otevřeno", "nemůžu se přihlásit na web",
    "strhli mi peníze dvakrát", "chci mluvit s vedoucím", "dobře, rozumím",
]
TH = [
    "สวัสดีครับ ผมต้องการความช่วยเหลือเรื่องบัญชี", "ผมรอมาครึ่งชั่วโมงแล้ว", "ใบแจ้งหนี้เดือนนี้ผิด",
    "ช่วยพูดอีกครั้งได้ไหม", "ผมอยากยกเลิกคำสั่งซื้อ", "หมายเลขลูกค้าของผมคือสี่ห้าแปด",
    "พัสดุยังไม่มาถึง", "ขอบคุณมากครับ สวัสดี", "สัญญาณไม่ดีเลย", "เมื่อวานผมโทรมาแต่ไม่มีใครรับ",
    "เปิดทำการกี่โมง", "เข้าเว็บไซต์ไม่ได้", "บัตรเครดิตถูกตัดเงินสองครั้ง", "ขอคุยกับผู้จัดการ", "ได้ครับ เข้าใจแล้ว",
]
JA = [
    "もしもし、アカウントのことでそうだんしたいです", "さんじゅっぷんもまっています",
    "こんげつのせいきゅうしょがまちがっています",
    "もういちどいってください", "ちゅうもんをキャンセルしたいです", "きゃくばんごうはよんごはちです",
    "にもつがまだとどきません", "ありがとうございました、しつれいします", "でんわがとおいです",
    "きのうでんわしたけど、だれもでませんでした", "なんじまでやっていますか", "ウェブサイトにはいれません",
    "カードからにかいひきおとされました", "せきにんしゃとはなしたいです", "はい、わかりました",
]
C_ESPEAK = {"espeak/pt-br+m4": ("pt-br+m4", PT), "espeak/cs+f4": ("cs+f4", CS), "espeak/th+m1": ("th+m1", TH),
            "espeak/ja+f1": ("ja+f1", JA)}
# a recorded voice made another voice: (source pool, sox pitch shift in cents)
PITCHED = {"pitch/ru_f_down450": ("ru_RU_f_IvrvoiceRU", -450), "pitch/it_m_up300": ("it_IT_m_Carlo", 300)}

_previous_pool_files = mh.pool_files


def pitched_pool_files(pool: str) -> list[str]:
    """The source pool's WAVs pitch-shifted by sox, once, into PITCH_DIR."""
    src_pool, cents = PITCHED[pool]
    out = []
    for f in _previous_pool_files(src_pool):
        dst = os.path.join(PITCH_DIR, pool.split("/")[1], os.path.relpath(f, mc.ASTERISK))
        if not os.path.exists(dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            subprocess.run(["sox", "-G", "-D", "-R", f, dst, "pitch", str(cents)], check=True)
        out.append(dst)
    return out


def pool_files(pool: str) -> list[str]:
    return pitched_pool_files(pool) if pool in PITCHED else _previous_pool_files(pool)


def _resonance(rng: np.random.Generator, freq: float, decay_s: float, length_s: float) -> np.ndarray:
    k = np.arange(int(length_s * FS))
    return np.sin(2 * np.pi * freq * k / FS + rng.uniform(0, 6.3)) * np.exp(-k / (decay_s * FS))


def noise_tv(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A television in the room: one talker of another voice (the C babble pool, band-limited like
    a small loudspeaker) over a soft music bed, with a little room reverberation."""
    pool = ctx["babble_items"]
    voice = np.zeros(n)
    pos = int(rng.integers(0, FS // 2))
    while pos < n:
        _, u = pool[int(rng.integers(len(pool)))]
        k = min(u.size, n - pos)
        voice[pos : pos + k] += u[:k]
        pos += k + int(rng.uniform(0.1, 0.7) * FS)
    spec = np.fft.rfft(voice)
    f = np.fft.rfftfreq(n, 1.0 / FS)
    spec *= ((f > 250) & (f < 5000)).astype(float)
    voice = np.fft.irfft(spec, n)
    bed = noise_guitar(rng, n, ctx)
    room = np.exp(-np.arange(int(0.25 * FS)) / (0.06 * FS)) * rng.standard_normal(int(0.25 * FS)) * 0.05
    room[0] = 1.0
    mix = mc._unit(voice) + rng.uniform(0.2, 0.6) * bed
    return mc._unit(np.convolve(mix, room)[:n])


def noise_cafe(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A cafe: cups, plates and cutlery clinking (bright decaying resonances, 1-6 a second) over a
    low murmur (pink noise shaped like distant voices)."""
    x = np.zeros(n)
    rate = rng.uniform(1.0, 6.0)
    pos = int(rng.exponential(FS / rate))
    while pos < n:
        clink = np.zeros(int(0.3 * FS))
        for _ in range(3):  # a cup or plate rings at a few frequencies at once
            clink = clink + _resonance(rng, rng.uniform(1500, 6500), rng.uniform(0.02, 0.15), 0.3)
        k = min(clink.size, n - pos)
        x[pos : pos + k] += clink[:k] * rng.uniform(0.3, 1.5)
        pos += int(rng.exponential(FS / rate)) + 1
    murmur = mh._lowpass_noise(rng, n, 500.0, 3.0)
    t = np.arange(n) / FS
    murmur *= 1.0 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t)
    return mc._unit(mc._unit(x) + rng.uniform(0.5, 1.5) * mc._unit(murmur))


def noise_vacuum(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """A vacuum cleaner or hair dryer: broadband roar peaking around 1-2 kHz and a motor whine
    (a few kHz, slowly wandering with the load)."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1.0 / FS)
    centre = rng.uniform(800.0, 2000.0)
    spec *= np.exp(-0.5 * (np.log(np.maximum(f, 1.0) / centre) / 0.9) ** 2)
    roar = np.fft.irfft(spec, n)
    t = np.arange(n) / FS
    whine_f = rng.uniform(2000.0, 5000.0) * (1.0 + 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    whine = np.sin(2 * np.pi * np.cumsum(whine_f) / FS)
    return mc._unit(mc._unit(roar) + rng.uniform(0.1, 0.4) * whine)


def noise_siren(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """An emergency siren in the street: a wail (600-1,500 Hz, 2-6 s a sweep) or a yelp (fast
    sweeps), with harmonics, rising and falling in level as it passes, over traffic rumble."""
    t = np.arange(n) / FS
    period = rng.uniform(2.0, 6.0) if rng.random() < 0.6 else rng.uniform(0.15, 0.4)
    lo, hi = rng.uniform(550.0, 750.0), rng.uniform(1200.0, 1600.0)
    freq = lo + (hi - lo) * 0.5 * (1 - np.cos(2 * np.pi * t / period + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(freq) / FS
    wail = np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)
    centre = rng.uniform(0.0, n / FS)
    swell = 0.2 + np.exp(-((t - centre) / rng.uniform(2.0, 6.0)) ** 2)
    rumble = mh._lowpass_noise(rng, n, 200.0, 3.0)
    return mc._unit(mc._unit(wail * swell) + rng.uniform(0.2, 0.6) * mc._unit(rumble))


def _pluck(rng: np.random.Generator, freq: float, length: int) -> np.ndarray:
    """One Karplus-Strong plucked string: a noise burst circulating through a damped delay line."""
    period = max(2, round(FS / freq))
    buf = rng.uniform(-1.0, 1.0, period)
    out = np.empty(length)
    damping = rng.uniform(0.990, 0.998)
    for start in range(0, length, period):
        k = min(period, length - start)
        out[start : start + k] = buf[:k]
        buf = damping * 0.5 * (buf + np.roll(buf, -1))
    return out


def noise_guitar(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Plucked-string music (a guitar picking arpeggios): Karplus-Strong notes on a scale, a few
    strings ringing together, strummed chords now and then."""
    x = np.zeros(n)
    step = int(60.0 / rng.uniform(80.0, 160.0) / 2 * FS)
    root = rng.uniform(82.0, 165.0)
    scale = np.array([0, 3, 5, 7, 10, 12, 15, 17, 19, 22, 24])
    pos = 0
    while pos < n:
        strum = rng.random() < 0.15
        for s in range(4 if strum else 1):
            f = root * 2 ** (scale[int(rng.integers(len(scale)))] / 12.0)
            note = _pluck(rng, f, min(int(1.5 * FS), n - pos))
            at = pos + s * int(0.015 * FS)
            k = min(note.size, n - at)
            if k > 0:
                x[at : at + k] += note[:k] * rng.uniform(0.5, 1.0)
        pos += step * int(rng.choice([1, 1, 2]))
    return mc._unit(x + 1e-3 * rng.standard_normal(n))


def noise_drill(rng: np.random.Generator, n: int, ctx: dict[str, Any]) -> np.ndarray:
    """Building work next door: a drill (a motor buzz in on/off runs of 0.5-3 s) or a hammer
    (knocks 1-4 a second, ringing low)."""
    t = np.arange(n) / FS
    if rng.random() < 0.5:
        f0 = rng.uniform(100.0, 250.0)
        buzz = sum(np.sign(np.sin(2 * np.pi * f0 * h * t)) / h ** 1.5 for h in (1, 2, 3))
        gate = np.zeros(n)
        pos = int(rng.uniform(0.0, 0.5) * FS)
        while pos < n:
            run = int(rng.uniform(0.5, 3.0) * FS)
            gate[pos : pos + run] = 1.0
            pos += run + int(rng.uniform(0.2, 1.5) * FS)
        ramp = np.ones(int(0.03 * FS)) / int(0.03 * FS)
        gate = np.convolve(gate, ramp, mode="same")
        return mc._unit(buzz * gate + 0.05 * rng.standard_normal(n))
    x = np.zeros(n)
    rate = rng.uniform(1.0, 4.0)
    pos = int(rng.uniform(0.0, 0.5) * FS)
    while pos < n:
        knock = _resonance(rng, rng.uniform(150, 600), 0.05, 0.25) + 0.5 * rng.standard_normal(
            int(0.25 * FS)) * np.exp(-np.arange(int(0.25 * FS)) / (0.005 * FS))
        k = min(knock.size, n - pos)
        x[pos : pos + k] += knock[:k]
        pos += int(FS / rate * rng.uniform(0.8, 1.2))
    return mc._unit(x + 0.01 * rng.standard_normal(n))


HOLDOUT_C = {
    "seed_base": 70000,
    "max_calls": 200,
    "pools": {"pt": ["espeak/pt-br+m4"], "cs": ["espeak/cs+f4"], "th": ["espeak/th+m1"], "ja": ["espeak/ja+f1"],
              "ru": ["pitch/ru_f_down450"], "it": ["pitch/it_m_up300"]},
    "pool_weights": {"pt": 0.15, "cs": 0.15, "th": 0.15, "ja": 0.15, "ru": 0.2, "it": 0.2},
    "babble_pools": ["espeak/pt-br+m4", "espeak/cs+f4", "pitch/ru_f_down450", "pitch/it_m_up300"],
    "noise_types": {"tv": 1 / 6, "cafe": 1 / 6, "vacuum": 1 / 6, "siren": 1 / 6, "guitar": 1 / 6,
                    "drill": 1 / 6},
}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    mh.install()
    mh.ESPEAK_POOLS.update(C_ESPEAK)
    mc.pool_files = pool_files
    mc.SPLITS["holdout_c"] = HOLDOUT_C
    mc.NOISES.update({"tv": noise_tv, "cafe": noise_cafe, "vacuum": noise_vacuum, "siren": noise_siren,
                      "guitar": noise_guitar, "drill": noise_drill})
    for src, _ in PITCHED.values():
        if not glob.glob(os.path.join(mc.ASTERISK, src)):
            raise SystemExit(f"missing voice {src}: see make_holdout.py's docstring")
    if "--calls" not in args:
        args += ["--calls", "120"]
    if "--out" not in args:
        args += ["--out", "/tmp/holdout_c"]
    mc.main(["--split", "holdout_c", *args])


if __name__ == "__main__":
    main()
