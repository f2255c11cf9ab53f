"""Script files: the shipped ones load and hold the standard; broken ones fail with file + key + problem."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from softphone_assist.core.errors import ScriptError, UserError
from softphone_assist.core.resources import ENV_VAR, resources_dir
from softphone_assist.core.script import Script, available_locales, load_script

SCRIPTS = Path(__file__).resolve().parent.parent / "resources" / "scripts"
STANDARD = Path("/work/shared/SERVICE_STANDARD.md")  # outside the repo: checked when present
LOCALES = ("zh-CN", "zh-TW", "en")
ORDINARY_MORNING = datetime(2025, 3, 5, 9, 0)

# The standard's shape, written out here so that a change to the model's table shows up as a failure.
SHAPES = {
    "silent_line": (3, True), "caller_silent": (3, True), "low_volume": (4, True), "noisy_line": (2, True),
    "dead_air": (3, False), "hold": (2, False), "closing": (3, True),
}

# Every scripted zh-CN line of SERVICE_STANDARD.md, verbatim (greeting words are tested in test_greeting).
STANDARD_LINES = [
    "{greeting},{company}很高兴为您服务",
    "您好,欢迎致电{company}客服热线!请问您需要什么服务?",
    "非常抱歉,您的电话没有声音,请您换一部电话再打来,再见!",
    "喂,说话呀!再不说话我就挂机了!",
    "您好!这里是{company}客服中心,您的电话已接通,请问有什么可以帮助您的吗?",
    "您的电话已接通,请问您能听见我的声音吗?",
    "对不起,由于电话信号不好,请您换一部电话再拨,谢谢您的来电,再见!",
    "非常抱歉,我这边听不清楚,请您大声一点,好吗?",
    "对不起,我听不清您的声音,请问您用的是免提吗?",
    "非常抱歉,我听不到您的声音,请问您是否已拿起话筒?",
    "我这边听不清楚,请您拿起话筒说话,好吗?",
    "对不起!您的电话声音太小,我这边听不清楚,请您换一部电话再打过来,好吗?",
    "喂,大声一点!拿起话筒说话!",
    "非常抱歉,您的电话杂音太大,我这边听不清楚,请您换一部电话打来好吗?",
    "您的问题我正在核实,请您稍等",
    "我帮您查询一下,请您稍等",
    "正在查询中,请您稍等。",
    "我正在为您核实相关问题,请您稍等一会,不要挂线,谢谢!",
    "{title},感谢您的耐心等候。",
    "{title},非常感谢您耐心等候,关于您咨询的问题……",
    "不好意思,让您久等",
    "请问还有什么可以帮您?",
    "感谢您的来电,再见!",
    "如您没有其他问题需要咨询的话,我挂线了,感谢您的来电,再见!",
    "喂,没事了吧,您挂电话吧。",
    "非常抱歉,今天咨询的客户比较多,非常感谢您的耐心等候,请问有什么可以帮到您?",
    "非常抱歉,请问您现在可以听到吗?",
    "很抱歉,我这里的声音已经调到最大。如果您还是听不清楚,请您换一部电话再拨,好吗?",
    "非常抱歉,请您将刚才的问题重讲一遍,好吗?",
    "非常抱歉,我听不明白您说的话,请您稍等,我请其他同事与您通话。请您不要挂机。",
    "很抱歉,{title},非常感谢您反映的意见,我们会尽快向上级部门反映,并在{hours}小时内给您明确的答复,"
    "再次感谢您的来电,再见。",
]
FORBIDDEN = ["喂", "嘿", "你到底想怎么样?", "我刚才已经说过了", "这不关我的事", "我不清楚,你找XX去问",
             "我现在很忙,你稍后给我打过来", "你自己看着办吧", "不是我们的问题", "快递的问题你找快递去"]


def all_texts(script: Script) -> list[str]:
    """Every line a script can show: steps, never-say lines, on-demand lines."""
    texts = [step.text for ladder in script.ladders.values() for step in ladder.steps]
    texts += [ladder.never_say for ladder in script.ladders.values() if ladder.never_say]
    return texts + list(script.on_demand.values())


# --------------------------------------------------------------------------------------------
# The shipped files
# --------------------------------------------------------------------------------------------
def test_the_three_shipped_locales_are_available() -> None:
    assert available_locales() == ["en", "zh-CN", "zh-TW"]


@pytest.mark.parametrize("locale", LOCALES)
def test_shipped_script_loads_with_the_standard_shape(locale: str) -> None:
    script = load_script(locale)
    assert script.locale == locale
    assert script.language == {"zh-CN": "简体中文", "zh-TW": "繁體中文", "en": "English"}[locale]
    assert script.path == SCRIPTS / f"{locale}.toml"
    assert {p: (len(lad.steps), lad.may_hang_up) for p, lad in script.ladders.items()} == SHAPES
    assert list(script.ladders) == list(SHAPES)
    assert all(ladder.protocol == p for p, ladder in script.ladders.items())
    assert script.timing.condition_persist_s == 2.0
    assert script.timing.caller_silent_after_s == 5.0
    assert script.timing.dead_air_after_s == 10.0
    assert script.hours == 24
    waits = {p: [s.wait_s for s in ladder.steps] for p, ladder in script.ladders.items()}
    assert waits == {"silent_line": [5.0] * 3, "caller_silent": [5.0] * 3, "low_volume": [5.0] * 4,
                     "noisy_line": [5.0] * 2, "dead_air": [10.0] * 3, "hold": [120.0, 0.0],
                     "closing": [5.0] * 3}
    # the same line twice where the standard repeats it
    for protocol in ("silent_line", "caller_silent", "noisy_line"):
        assert script.ladders[protocol].steps[0].text == script.ladders[protocol].steps[1].text
    assert script.ladders["low_volume"].hang_up_note and script.ladders["noisy_line"].hang_up_note
    assert script.ladders["low_volume"].steps[0].hint
    assert len(script.forbidden) == len(FORBIDDEN)


def test_the_three_files_offer_the_same_keys() -> None:
    scripts = [load_script(locale) for locale in LOCALES]
    assert len({tuple(s.on_demand) for s in scripts}) == 1
    assert len({tuple(s.on_demand_titles) for s in scripts}) == 1
    assert len({tuple(s.labels) for s in scripts}) == 1
    assert len({tuple((h.calendar, h.month, h.day, h.days) for h in s.greeting_rules.holidays)
                for s in scripts}) == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match_across_locales(locale: str) -> None:
    def placeholders(script: Script) -> list[list[str]]:
        return [sorted(re.findall(r"\{\w+\}", t)) for t in all_texts(script)]
    assert placeholders(load_script(locale)) == placeholders(load_script("zh-CN"))


def test_every_standard_line_is_in_the_zh_cn_script() -> None:
    script = load_script("zh-CN")
    texts = all_texts(script)
    missing = [line for line in STANDARD_LINES if line not in texts]
    assert missing == []
    assert [phrase for phrase in FORBIDDEN if not any(phrase in f for f in script.forbidden)] == []


@pytest.mark.skipif(not STANDARD.exists(), reason="SERVICE_STANDARD.md is not in this checkout")
def test_the_line_list_above_is_the_standard_as_written() -> None:
    quoted = re.findall(r"`([^`]+)`", STANDARD.read_text(encoding="utf-8"))
    chinese = [q for q in quoted if re.search(r"[\u4e00-\u9fff]", q)]
    assert sorted(set(chinese)) == sorted(set(STANDARD_LINES + FORBIDDEN))


@pytest.mark.parametrize("locale", LOCALES)
def test_fill_leaves_no_placeholder(locale: str) -> None:
    script = load_script(locale)
    for text in all_texts(script):
        filled = script.fill(text, ORDINARY_MORNING, company="ACME", title="Ms Li")
        assert "{" not in filled and "}" not in filled, filled


def test_fill_uses_defaults_and_overrides() -> None:
    script = load_script("zh-CN")
    hold = script.ladders["hold"].steps[0].text
    assert script.fill(hold, ORDINARY_MORNING) == "先生/女士,感谢您的耐心等候。"
    assert script.fill(hold, ORDINARY_MORNING, title="李女士") == "李女士,感谢您的耐心等候。"
    assert script.fill(script.opening, ORDINARY_MORNING, company="卓达社区网中心") == \
        "上午好,卓达社区网中心很高兴为您服务"
    assert script.fill(script.on_demand["complaint_pending"], ORDINARY_MORNING, title="王先生") == \
        "很抱歉,王先生,非常感谢您反映的意见,我们会尽快向上级部门反映,并在24小时内给您明确的答复,再次感谢您的来电,再见。"
    en = load_script("en")
    assert en.fill(en.opening, datetime(2025, 3, 5, 14, 0), company="ACME") == \
        "Good afternoon, this is ACME. It's a pleasure to serve you."


def test_speaking_time() -> None:
    zh = load_script("zh-CN")
    # 上午好 XX公司很高兴为您服务: 14 spoken characters at 120 per minute; the comma is not spoken
    assert zh.speaking_time_s("上午好,XX公司很高兴为您服务") == pytest.approx(7.0)
    assert zh.speaking_time_s("正在查询中,请您稍等。") == pytest.approx(4.5)
    en = load_script("en")
    # "Hello this is ACME": 15 letters + 3 gaps = 18 characters at 760 per minute
    assert en.speaking_time_s("Hello,  this is ACME!") == pytest.approx(18 / 760 * 60)


# --------------------------------------------------------------------------------------------
# Overrides from the settings
# --------------------------------------------------------------------------------------------
def test_with_overrides_applies_and_keeps_the_original() -> None:
    script = load_script("zh-CN")
    changed = script.with_overrides(company="ACME", title="客户",
                                    timing={"dead_air_after_s": 15, "chars_per_minute": 150})
    assert (changed.company, changed.title) == ("ACME", "客户")
    assert changed.timing.dead_air_after_s == 15 and changed.timing.chars_per_minute == 150
    assert changed.timing.caller_silent_after_s == 5.0
    assert (script.company, script.timing.dead_air_after_s) == ("XX公司", 10.0)
    assert changed.ladders is script.ladders


@pytest.mark.parametrize(("kwargs", "key", "problem"), [
    ({"timing": {"dead_air_after_s": -1}}, "timing.dead_air_after_s", "-1 is outside 1..300 s"),
    ({"timing": {"caller_silent_after_s": "5"}}, "timing.caller_silent_after_s", "expected a number"),
    ({"timing": {"dead_air": 10}}, "timing.dead_air", "unknown setting"),
    ({"company": ""}, "company", "must not be empty"),
    ({"company": "{title}"}, "company", "must not contain"),
    ({"title": "a\nb"}, "title", "must be one line"),
])
def test_with_overrides_validates(kwargs: dict, key: str, problem: str) -> None:
    script = load_script("zh-CN")
    with pytest.raises(ScriptError) as caught:
        script.with_overrides(**kwargs)
    message = str(caught.value)
    assert message.startswith(f"settings override of script {script.path}: {key}: ")
    assert problem in message


# --------------------------------------------------------------------------------------------
# Broken files: one thing broken each, message = file + key path + problem
# --------------------------------------------------------------------------------------------
def broken_copy(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = (SCRIPTS / "zh-CN.toml").read_text(encoding="utf-8")
    assert text.count(old) >= count, f"the test's edit does not apply: {old!r}"
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


SILENT_STEP_2 = '''text = "{greeting},{company}很高兴为您服务"
wait_s = 5.0
hint'''
NOISY_STEP = '''[[ladder.noisy_line.step]]
text = "非常抱歉,您的电话杂音太大,我这边听不清楚,请您换一部电话打来好吗?"
wait_s = 5.0
'''

TIMING_LINE = (SCRIPTS / "zh-CN.toml").read_text(encoding="utf-8").splitlines().index("[timing]") + 1
BROKEN = [
    # (what is broken, old text, new text, how many replacements, key path, problem)
    ("toml syntax", "\n[timing]\n", "\n[timing\n", 1,
     "TOML syntax error", f"(at line {TIMING_LINE}, column 8)"),
    ("missing key", "dead_air_after_s = 10.0\n", "", 1,
     "timing.dead_air_after_s", "missing (required key)"),
    ("wrong type", "hours = 24", 'hours = "24"', 1,
     "defaults.hours", "expected a whole number, got str '24'"),
    ("wrong type", "may_hang_up = false", 'may_hang_up = "no"', 1,
     "ladder.dead_air.may_hang_up", "expected true or false"),
    ("negative wait", SILENT_STEP_2, SILENT_STEP_2.replace("5.0", "-1.0"), 1,
     "ladder.silent_line.step[2].wait_s", "-1.0 is outside 0..600 s"),
    ("absurd wait", "wait_s = 120.0", "wait_s = 7200.0", 1,
     "ladder.hold.step[1].wait_s", "7200.0 is outside 0..600 s"),
    ("no time to answer", SILENT_STEP_2, SILENT_STEP_2.replace("5.0", "0.0"), 1,
     "ladder.silent_line.step[2].wait_s", "no time to answer"),
    ("wrong step count", NOISY_STEP, "", 1,
     "ladder.noisy_line.step", "has 1 step; the service standard's noisy_line protocol has exactly 2"),
    ("unknown placeholder", "{greeting},{company}很高兴", "{greeting},{compnay}很高兴", 1,
     "ladder.silent_line.step[1].text", "unknown placeholder {compnay}"),
    ("stray brace", "{title},感谢您的耐心等候。", "{title,感谢您的耐心等候。", 1,
     "ladder.hold.step[1].text", "unmatched '{'"),
    ("placeholder where none is filled", 'never_say = "不好意思', 'never_say = "{title}不好意思', 1,
     "ladder.hold.never_say", "placeholder {title} is not allowed here"),
    ("unknown key", "chars_per_minute = 120.0", 'chars_per_minute = 120.0\ncolour = "red"', 1,
     "timing.colour", "unknown key"),
    ("unknown key in a step", 'hint = "等客户先挂机"', 'hnit = "等客户先挂机"', 1,
     "ladder.closing.step[1].hnit", "unknown key"),
    ("time 25:00", 'from = "17:00"', 'from = "25:00"', 1,
     "greeting.time_of_day[3].from", "25:00 is not a time of day"),
    ("minute 60", 'to = "12:00"', 'to = "11:60"', 1,
     "greeting.time_of_day[1].to", "11:60 is not a time of day"),
    ("not a time", 'from = "08:30"', "from = 830", 1,
     "greeting.time_of_day[1].from", 'expected a time of day "HH:MM"'),
    ("overlap", 'from = "12:00"', 'from = "11:00"', 1,
     "greeting.time_of_day[2]", "11:00-17:00 overlaps greeting.time_of_day[1] 08:30-12:00"),
    ("empty range", 'to = "17:00"', 'to = "12:00"', 1,
     "greeting.time_of_day[2].to", "12:00-12:00 is empty"),
    ("lunar month 13", "month = 8", "month = 13", 1,
     "greeting.holiday[3].month", "13 is outside 1..12 (lunar calendar)"),
    ("lunar day 31", "day = 15", "day = 31", 1,
     "greeting.holiday[3].day", "31 is outside 1..30 (lunar month 8)"),
    ("solar Feb 30", "month = 10\nday = 1", "month = 2\nday = 30", 1,
     "greeting.holiday[6].day", "30 is outside 1..29 (solar month 2)"),
    ("calendar typo", 'calendar = "lunar"', 'calendar = "lunr"', 1,
     "greeting.holiday[2].calendar", "'lunr' is not one of"),
    ("span", "days = 7", "days = 70", 1,
     "greeting.holiday[6].days", "70 is outside 1..31"),
    ("shape: may_hang_up", "may_hang_up = false", "may_hang_up = true", 1,
     "ladder.dead_air.may_hang_up", "must be false for dead_air"),
    ("missing ladder", "ladder.hold", "ladder.hodl", 3,
     "ladder.hold", "missing (required key)"),
    ("missing on_demand line", "[on_demand.before_hold]", "[on_demand.before_hld]", 1,
     "on_demand.before_hold", "missing"),
    ("missing label", 'skip = "跳过"\n', "", 1,
     "labels.skip", "missing"),
    ("empty forbidden phrase", '"这不关我的事"', '""', 1,
     "forbidden.phrases[5]", "must not be empty"),
    ("empty company", 'company = "XX公司"', 'company = " "', 1,
     "defaults.company", "must not be empty"),
    ("timing out of range", "caller_silent_after_s = 5.0", "caller_silent_after_s = 0.0", 1,
     "timing.caller_silent_after_s", "0.0 is outside 1..120 s"),
    ("bad locale", '\nlocale = "zh-CN"', '\nlocale = "Chinese"', 1,
     "meta.locale", "is not a locale"),
]


@pytest.mark.parametrize(("what", "old", "new", "count", "key", "problem"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_file_names_file_key_and_problem(tmp_path: Path, what: str, old: str, new: str,
                                                count: int, key: str, problem: str) -> None:
    path = broken_copy(tmp_path, old, new, count)
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    message = str(caught.value)
    assert re.match(rf"{re.escape(str(path))}(:\d+)?: {re.escape(key)}", message), message
    assert problem in message, message


@pytest.mark.parametrize(("old", "new", "line_text"), [
    (SILENT_STEP_2, SILENT_STEP_2.replace("5.0", "-1.0"), "wait_s = -1.0"),
    ("{company}很高兴", "{compnay}很高兴", 'text = "{greeting},{compnay}很高兴为您服务"'),
    ("month = 8", "month = 13", "month = 13"),
    ("dead_air_after_s = 10.0\n", "", "[timing]"),  # a missing key: the line of its table
])
def test_error_names_the_line(tmp_path: Path, old: str, new: str, line_text: str) -> None:
    path = broken_copy(tmp_path, old, new)
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    match = re.match(rf"{re.escape(str(path))}:(\d+): ", str(caught.value))
    assert match, str(caught.value)
    assert path.read_text(encoding="utf-8").splitlines()[int(match.group(1)) - 1] == line_text


def test_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, 'title = "先生/女士"', 'title = "先生/女士', 1)
    with pytest.raises(ScriptError, match=r"broken\.toml: TOML syntax error: .*\(at line \d+, column \d+\)"):
        load_script(path)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"nowhere\.toml: script file not found"):
        load_script(tmp_path / "nowhere.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[meta]\nlocale = "zh-CN"\nlanguage = "Fran\xe7ais"\n'.encode("latin-1"))
    with pytest.raises(ScriptError, match=r"latin1\.toml: not UTF-8 text"):
        load_script(latin1)


def test_a_user_error_the_cli_can_print() -> None:
    assert issubclass(ScriptError, UserError)


def test_unknown_locale_lists_the_available_ones() -> None:
    with pytest.raises(ScriptError, match=r"unknown script locale 'fr' \(available: en, zh-CN, zh-TW;"):
        load_script("fr")


# --------------------------------------------------------------------------------------------
# Where resources are found
# --------------------------------------------------------------------------------------------
def test_resources_dir_defaults_to_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resources_dir() == SCRIPTS.parent


def test_resources_env_var_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    text = (SCRIPTS / "zh-CN.toml").read_text(encoding="utf-8")
    (tmp_path / "scripts" / "zh-CN.toml").write_text(text.replace("XX公司", "测试公司"), encoding="utf-8")
    (tmp_path / "scripts" / "zh-HK.toml").write_text(text, encoding="utf-8")  # says locale = "zh-CN"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resources_dir() == tmp_path
    assert available_locales() == ["zh-CN", "zh-HK"]
    assert load_script("zh-CN").company == "测试公司"
    with pytest.raises(ScriptError, match=r"zh-HK\.toml:\d+: meta\.locale: 'zh-CN' does not match the file"):
        load_script("zh-HK")


def test_resources_env_var_must_be_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(UserError, match=rf"{ENV_VAR}=.*missing: no scripts/ folder there"):
        resources_dir()
