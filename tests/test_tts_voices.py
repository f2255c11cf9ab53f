"""pick_voice: which installed voice speaks a script locale (pure; catalogs as the engines report them)."""

from __future__ import annotations

import pytest

from softphone_assist.core.errors import UserError
from softphone_assist.speech.voices import (
    VoiceCatalog,
    VoiceInfo,
    VoiceNotFoundError,
    pick_voice,
    rank_voices,
)

# As pyttsx3 2.99 lists espeak-ng 1.51 voices on Debian 12 (a subset of the 131).
ESPEAK = (
    VoiceInfo("roa/fr", "French (France)", ("fr-fr",), "Male"),
    VoiceInfo("sit/cmn", "Chinese (Mandarin, latin as English)", ("cmn",), "Male"),
    VoiceInfo("sit/cmn-latn-pinyin", "Chinese (Mandarin, latin as Pinyin)", ("cmn-latn-pinyin",), "Male"),
    VoiceInfo("gmw/en-029", "English (Caribbean)", ("en-029",), "Male"),
    VoiceInfo("gmw/en", "English (Great Britain)", ("en-gb",), "Male"),
    VoiceInfo("gmw/en-us", "English (America)", ("en-us",), "Male"),
    VoiceInfo("sit/hak", "Hakka Chinese", ("hak",), "Male"),
    VoiceInfo("sit/yue", "Chinese (Cantonese)", ("yue",), "Male"),
    VoiceInfo("sit/yue-latn-jyutping", "Chinese (Cantonese, latin as Jyutping)", ("yue",), "Male"),
)
TOKENS = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Speech\\Voices\\Tokens\\"
HUIHUI = VoiceInfo(TOKENS + "TTS_MS_ZH-CN_HUIHUI_11.0", "Microsoft Huihui Desktop - Chinese (Simplified)",
                   ("zh-CN",), "Female")
HANHAN = VoiceInfo(TOKENS + "TTS_MS_ZH-TW_HANHAN_11.0", "Microsoft Hanhan Desktop - Chinese (Taiwan)",
                   ("zh-TW",), "Female")
TRACY = VoiceInfo(TOKENS + "TTS_MS_ZH-HK_TRACY_11.0",
                  "Microsoft Tracy Desktop - Chinese(Traditional, HongKong SAR)", ("zh-HK",), "Female")
ZIRA = VoiceInfo(TOKENS + "TTS_MS_EN-US_ZIRA_11.0", "Microsoft Zira Desktop - English (United States)",
                 ("en-US",), "Female")
HELLE = VoiceInfo(TOKENS + "TTS_MS_DA-DK_HELLE_11.0", "Microsoft Helle Desktop - Danish (Denmark)",
                  ("da-DK",))
# OneCore voices registered for SAPI sometimes carry only the name, no usable language tag.
YAOYAO_NO_TAG = VoiceInfo(TOKENS + "MSTTS_V110_zhCN_YaoyaoM", "Microsoft Yaoyao - Chinese (Simplified, PRC)",
                          ("Unknown Locale: 0",))


def espeak(version: str = "1.51") -> VoiceCatalog:
    return VoiceCatalog("espeak", version, ESPEAK)


def sapi(*voices: VoiceInfo) -> VoiceCatalog:
    return VoiceCatalog("sapi5", "", voices)


@pytest.mark.parametrize(("locale", "voice_id"), [
    ("zh-CN", "sit/cmn-latn-pinyin"),  # 1.51's plain cmn reads tone digits in English
    ("zh_CN", "sit/cmn-latn-pinyin"),
    ("zh-TW", "sit/cmn-latn-pinyin"),  # Taiwan speaks Mandarin; yue would be Cantonese
    ("zh-Hant-TW", "sit/cmn-latn-pinyin"),
    ("zh-HK", "sit/yue"),
    ("en", "gmw/en"),
    ("en-US", "gmw/en-us"),
    ("en-GB", "gmw/en"),
    ("fr", "roa/fr"),
])
def test_espeak_1_51(locale: str, voice_id: str) -> None:
    assert pick_voice(locale, espeak("1.51")).id == voice_id


def test_espeak_with_fixed_mandarin_prefers_plain_cmn() -> None:
    assert pick_voice("zh-CN", espeak("1.52.0")).id == "sit/cmn"
    assert pick_voice("zh-TW", espeak("1.52.0")).id == "sit/cmn"
    # the romanised variants are never offered then, nor Hakka or Cantonese for Mandarin locales
    assert [v.id for v in rank_voices("zh-CN", espeak("1.52.0"))] == ["sit/cmn"]


def test_jyutping_variant_is_not_a_cantonese_choice() -> None:
    assert [v.id for v in rank_voices("zh-HK", espeak("1.52"))] == ["sit/yue", "sit/cmn"]


@pytest.mark.parametrize(("locale", "voice"), [
    ("zh-CN", HUIHUI), ("zh-TW", HANHAN), ("zh-HK", TRACY), ("en", ZIRA), ("en-US", ZIRA),
])
def test_sapi_by_language_tag(locale: str, voice: VoiceInfo) -> None:
    assert pick_voice(locale, sapi(ZIRA, HELLE, TRACY, HANHAN, HUIHUI)).id == voice.id


def test_sapi_taiwan_falls_back_to_mandarin_and_back() -> None:
    assert pick_voice("zh-TW", sapi(ZIRA, HUIHUI)) == HUIHUI
    assert pick_voice("zh-CN", sapi(ZIRA, HANHAN)) == HANHAN


def test_sapi_match_by_name_when_the_tag_is_useless() -> None:
    assert pick_voice("zh-CN", sapi(ZIRA, YAOYAO_NO_TAG)) == YAOYAO_NO_TAG


def test_name_keywords_match_whole_words_only() -> None:
    # "mark" (Microsoft Mark) must not pick the Danish voice from "Denmark"
    with pytest.raises(VoiceNotFoundError):
        pick_voice("en", sapi(HELLE))


def test_no_voice_for_the_locale_names_locale_and_voices() -> None:
    with pytest.raises(VoiceNotFoundError) as err:
        pick_voice("zh-TW", sapi(ZIRA, HELLE, TRACY))  # Cantonese is no Taiwan voice
    msg = str(err.value)
    assert "'zh-TW'" in msg and "sapi5" in msg
    assert TOKENS + "TTS_MS_EN-US_ZIRA_11.0 (en-US)" in msg and "TTS_MS_ZH-HK_TRACY_11.0 (zh-HK)" in msg
    assert isinstance(err.value, UserError)


def test_mandarin_locale_never_gets_hakka_or_cantonese() -> None:
    cat = VoiceCatalog("espeak", "1.51", (ESPEAK[6], ESPEAK[7]))
    with pytest.raises(VoiceNotFoundError,
                       match=r"no voice for locale 'zh-CN'.*sit/hak \(hak\); sit/yue \(yue\)"):
        pick_voice("zh-CN", cat)


def test_long_voice_lists_are_cut() -> None:
    many = tuple(VoiceInfo(f"x/v{i}", f"V{i}", ("xx",)) for i in range(100))
    with pytest.raises(VoiceNotFoundError, match=r"and 40 more$"):
        pick_voice("en", VoiceCatalog("espeak", "1.51", many))


def test_bad_locale_text() -> None:
    with pytest.raises(VoiceNotFoundError, match="'中文' is not a language tag"):
        pick_voice("中文", espeak())
