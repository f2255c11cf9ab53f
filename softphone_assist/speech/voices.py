"""Text-to-speech voices: what the engine offers and which one fits a script's locale.

`pick_voice` is pure: it ranks the voices the worker listed (`VoiceCatalog`), so the rules
are tested without an engine. Rules, best first:
  zh-CN  a Simplified-Chinese/PRC voice (SAPI Huihui, Yaoyao, Kangkang; tags zh-CN, cmn), then
         any Mandarin voice.
  zh-TW  a Taiwan voice (SAPI Hanhan, Yating, Zhiwei; tag zh-TW), then a Mandarin voice: Taiwan
         speaks Mandarin (國語), so `cmn` fits; `yue` is Cantonese and would be wrong there.
  zh-HK  a Cantonese voice (yue, Tracy, HiuGaai), then Mandarin.
  en     `en` itself, then en-US, en-GB, then any English voice.
espeak-ng 1.51 (Debian 12) reads many Hanzi of plain `cmn` as pinyin with the tone digits in
English ("非常" -> "fei one chang"; espeak-ng issues #1028, #1044). Its `cmn-latn-pinyin` variant
reads the same Hanzi with correct Mandarin tones (checked with `espeak-ng -x`), so on espeak-ng
older than 1.52 that variant ranks first; elsewhere romanised-input variants are not picked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from softphone_assist.speech.errors import TtsError

_BROKEN_CMN_BEFORE = (1, 52)  # espeak-ng releases before this read cmn tone digits in English
_MAX_LISTED = 60  # voices named in an error message; espeak-ng alone has 130


class VoiceNotFoundError(TtsError):
    """No installed voice fits the script's locale; the message names the locale and the voices."""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    id: str  # what pyttsx3's setProperty("voice", id) takes
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None

    def tags(self) -> set[str]:
        """Language tags, lower case with '-', plus the id's last path part (espeak `sit/cmn` -> cmn)."""
        out = {_norm(t) for t in self.languages if t}
        out.add(_norm(re.split(r"[\\/]", self.id)[-1]))
        return out


@dataclass(frozen=True, slots=True)
class VoiceCatalog:
    engine: str  # pyttsx3 driver: espeak, sapi5, nsss, ...
    engine_version: str  # e.g. "1.51" for espeak-ng; "" when the driver does not say
    voices: tuple[VoiceInfo, ...]

    def by_id(self, voice_id: str) -> VoiceInfo | None:
        return next((v for v in self.voices if v.id == voice_id), None)


@dataclass(frozen=True, slots=True)
class _Tier:
    tags: tuple[str, ...]
    names: tuple[str, ...] = ()


_MANDARIN = _Tier(
    ("zh-cn", "zh-hans-cn", "cmn-hans-cn", "cmn-cn", "zh-hans", "cmn-hans", "zh-sg", "cmn", "zh"),
    ("huihui", "yaoyao", "kangkang", "xiaoxiao", "yunxi", "yunyang", "xiaoyi", "tingting", "ting-ting",
     "chinese (simplified", "chinese (prc", "chinese (china", "chinese (mainland", "chinese (mandarin",
     "mandarin"),
)
_TAIWAN = _Tier(
    ("zh-tw", "zh-hant-tw", "cmn-hant-tw", "cmn-tw", "zh-hant", "cmn-hant"),
    ("hanhan", "yating", "zhiwei", "hsiaochen", "hsiaoyu", "meijia", "mei-jia", "chinese (taiwan",
     "chinese (traditional"),
)
_CANTONESE = _Tier(
    ("zh-hk", "zh-hant-hk", "yue-hant-hk", "yue-hk", "yue", "zh-mo"),
    ("tracy", "danny", "hiugaai", "hiumaan", "wanlung", "sinji", "chinese (hong kong", "cantonese"),
)
_ENGLISH = _Tier(("en-us", "en-gb", "en"), ("english", "zira", "david", "mark", "samantha", "alex"))

_TIERS: dict[str, tuple[_Tier, ...]] = {
    "zh-cn": (_MANDARIN, _TAIWAN),
    "zh-tw": (_TAIWAN, _MANDARIN),
    "zh-hk": (_CANTONESE, _MANDARIN),
    "en": (_Tier(("en",)), _ENGLISH),
}
_ALIASES = {
    "zh": "zh-cn", "zh-hans": "zh-cn", "zh-hans-cn": "zh-cn", "zh-sg": "zh-cn", "cmn": "zh-cn",
    "zh-hant": "zh-tw", "zh-hant-tw": "zh-tw", "zh-hant-hk": "zh-hk", "zh-mo": "zh-hk", "yue": "zh-hk",
}


def _norm(tag: str) -> str:
    return tag.strip().lower().replace("_", "-")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def _tiers_for(locale: str) -> tuple[_Tier, ...]:
    loc = _ALIASES.get(locale, locale)
    if loc in _TIERS:
        return _TIERS[loc]
    if loc.startswith("en-"):  # en-US, en-AU...: that exact variant, then any English
        return (_Tier((loc,)), _ENGLISH)
    primary = loc.split("-")[0]
    return (_Tier((loc, primary)),)


def _rank(voice: VoiceInfo, tiers: tuple[_Tier, ...], locale: str,
          pinyin_first: bool) -> tuple[int, int] | None:
    """(tier, position) of the best rule the voice meets, lower is better; None if it fits no rule."""
    tags = voice.tags()
    if any("-latn" in t for t in tags):  # reads Latin letters as pinyin/jyutping
        # espeak-ng < 1.52: the pinyin variant is the one that reads Hanzi with the right tones.
        if pinyin_first and "cmn-latn-pinyin" in tags and _MANDARIN in tiers:
            return (tiers.index(_MANDARIN), -1)
        return None
    name = voice.name.lower()
    for ti, tier in enumerate(tiers):
        hits = [i for i, tag in enumerate(tier.tags) if tag in tags]
        # A keyword must start a word: "mark" is Microsoft Mark, not "Denmark".
        hits += [len(tier.tags) + i for i, kw in enumerate(tier.names)
                 if re.search(rf"\b{re.escape(kw)}", name)]
        if hits:
            return (ti, min(hits))
    # Last resort: same primary language, e.g. en-029 for "en" (never another Chinese language).
    primary = locale.split("-")[0]
    if primary != "zh" and any(t.split("-")[0] == primary for t in tags):
        return (len(tiers), 0)
    return None


def normalize_locale(locale: str) -> str:
    """'zh_CN' -> 'zh-cn'; raises VoiceNotFoundError (a UserError) for text that is not a language tag."""
    loc = _norm(locale)
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", loc):
        raise VoiceNotFoundError(f"tts locale {locale!r} is not a language tag such as zh-CN, zh-TW or en")
    return loc


def rank_voices(locale: str, catalog: VoiceCatalog) -> list[VoiceInfo]:
    """Voices fitting `locale`, best first (stable: the engine's order breaks ties)."""
    loc = normalize_locale(locale)
    tiers = _tiers_for(loc)
    pinyin_first = catalog.engine == "espeak" and _version(catalog.engine_version) < _BROKEN_CMN_BEFORE
    ranked = [(r, i, v) for i, v in enumerate(catalog.voices)
              if (r := _rank(v, tiers, loc, pinyin_first)) is not None]
    return [v for _, _, v in sorted(ranked, key=lambda x: (x[0], x[1]))]


def describe_voices(voices: tuple[VoiceInfo, ...] | list[VoiceInfo]) -> str:
    parts = [f"{v.id} ({', '.join(v.languages) or v.name})" for v in voices[:_MAX_LISTED]]
    if len(voices) > _MAX_LISTED:
        parts.append(f"... and {len(voices) - _MAX_LISTED} more")
    return "; ".join(parts) if parts else "none"


def pick_voice(locale: str, catalog: VoiceCatalog) -> VoiceInfo:
    """The best installed voice for a script locale, or a VoiceNotFoundError naming what exists."""
    ranked = rank_voices(locale, catalog)
    if ranked:
        return ranked[0]
    engine = f"{catalog.engine} {catalog.engine_version}".strip()
    raise VoiceNotFoundError(
        f"tts: no voice for locale {locale!r} in text-to-speech engine {engine}; "
        f"install one (Windows: Settings > Time & language > Speech > Add voices; Linux: espeak-ng-data) "
        f"or set the voice id by hand. Available voices: {describe_voices(catalog.voices)}"
    )
