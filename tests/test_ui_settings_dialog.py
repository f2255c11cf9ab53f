"""The settings dialog: shows the effective settings, returns only what changed, refuses bad values."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import tomllib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from softphone_assist.settings.layers import (
    DeviceSettings,
    Settings,
    TimingSettings,
    TtsSettings,
    load_settings,
    save_user_settings,
)
from softphone_assist.ui.settings_dialog import SettingsDialog, padlock_pixmap

CURRENT = Settings(
    company="星河通信",
    devices=DeviceSettings(caller="Loopback", agent=2),
    timing=TimingSettings(dead_air_after_s=12.0),
    tts=TtsSettings(rate=180),
)


def dialog(qtbot: QtBot, current: Settings = CURRENT, **kw: Any) -> SettingsDialog:
    d = SettingsDialog(current, **kw)
    qtbot.addWidget(d)
    return d


def editor(d: SettingsDialog, key: str, kind: type) -> Any:
    w = d.editors[key]
    assert isinstance(w, kind), (key, type(w))
    return w


def test_fields_show_the_effective_settings(qtbot: QtBot) -> None:
    d = dialog(qtbot)
    assert editor(d, "company", QLineEdit).text() == "星河通信"
    assert editor(d, "locale", QComboBox).currentData() == "zh-CN"
    assert d.combo_of("devices.caller").currentText() == "Loopback"
    assert d.combo_of("devices.agent").currentText() == "2"  # a device index
    assert d.combo_of("devices.headset").currentText() == ""  # system default
    assert editor(d, "detector.noise_level_dbov", QDoubleSpinBox).value() == -45.0
    assert editor(d, "tts.rate", QSpinBox).value() == 180
    assert editor(d, "tts.mode", QComboBox).currentData() == "on_request"
    assert editor(d, "hotkeys.skip", QLineEdit).text() == "Ctrl+Alt+N"
    assert editor(d, "timing.dead_air_after_s", QDoubleSpinBox).value() == 12.0
    unset = editor(d, "timing.caller_silent_after_s", QDoubleSpinBox)
    assert unset.value() == unset.minimum() and unset.text() == "默认"  # the script's value applies
    assert d.tabs.count() == 7 and d.tabs.tabText(0) == "常规"


def test_untouched_dialog_has_no_changes(qtbot: QtBot) -> None:
    d = dialog(qtbot)
    assert d.changes() == {}
    with qtbot.waitSignal(d.changes_accepted, timeout=1000) as sig:
        d.accept()
    assert sig.args == [{}]


def test_edits_come_back_as_nested_changed_leaves(qtbot: QtBot) -> None:
    d = dialog(qtbot)
    editor(d, "company", QLineEdit).setText("星河通信客服中心")
    locale = editor(d, "locale", QComboBox)
    locale.setCurrentIndex(locale.findData("en"))
    d.combo_of("devices.headset").setEditText("USB Headset")
    d.combo_of("devices.agent").setEditText("")  # back to the system default
    editor(d, "detector.pause_s", QDoubleSpinBox).setValue(0.8)
    dead_air = editor(d, "timing.dead_air_after_s", QDoubleSpinBox)
    dead_air.setValue(dead_air.minimum())  # back to the script's timing
    editor(d, "timing.caller_silent_after_s", QDoubleSpinBox).setValue(6)
    outputs = d.editors["tts.outputs"].findChild(QCheckBox, "speak_to")
    assert outputs is not None
    outputs.setChecked(True)
    rate = editor(d, "tts.rate", QSpinBox)
    rate.setValue(rate.minimum())  # the engine's default rate
    editor(d, "hotkeys.skip", QLineEdit).setText("Ctrl+Alt+J")
    editor(d, "overlay.click_through", QCheckBox).setChecked(True)
    with qtbot.waitSignal(d.changes_accepted, timeout=1000) as sig:
        d.accept()
    expected = {
        "company": "星河通信客服中心",
        "locale": "en",
        "devices": {"agent": None, "headset": "USB Headset"},
        "detector": {"pause_s": 0.8},
        "timing": {"caller_silent_after_s": 6.0, "dead_air_after_s": None},
        "tts": {"rate": None, "outputs": ["headset", "speak_to"]},
        "hotkeys": {"skip": "Ctrl+Alt+J"},
        "overlay": {"click_through": True},
    }
    assert sig.args == [expected]
    assert d.result_changes == expected and d.result() == SettingsDialog.DialogCode.Accepted


def test_changes_are_what_save_user_settings_takes(qtbot: QtBot, tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    d = dialog(qtbot, save=lambda changes: save_user_settings(changes, user))
    editor(d, "company", QLineEdit).setText("Acme")
    d.combo_of("devices.speak_to").setEditText("CABLE Input")
    editor(d, "tts.mode", QComboBox).setCurrentIndex(editor(d, "tts.mode", QComboBox).findData("auto"))
    d.accept()
    assert d.result() == SettingsDialog.DialogCode.Accepted
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {
        "company": "Acme", "devices": {"speak_to": "CABLE Input"}, "tts": {"mode": "auto"}}
    s, problems = load_settings([user])
    assert problems == [] and (s.company, s.devices.speak_to, s.tts.mode) == ("Acme", "CABLE Input", "auto")


def test_a_refused_save_keeps_the_dialog_open_with_the_message(qtbot: QtBot, tmp_path: Path) -> None:
    d = dialog(qtbot, save=lambda changes: save_user_settings(changes, tmp_path / "user.toml"))
    d.show()
    editor(d, "company", QLineEdit).setText("Acme\u0007")  # a control character: the settings refuse it
    d.accept()
    assert d.isVisible() and d.result_changes == {}
    assert d.error.text() == "company: must not contain control characters"
    assert not (tmp_path / "user.toml").exists()


def test_bad_hotkey_keeps_the_dialog_open_with_a_message(qtbot: QtBot) -> None:
    saved: list[dict[str, Any]] = []
    d = dialog(qtbot, save=saved.append)
    d.show()
    editor(d, "hotkeys.skip", QLineEdit).setText("Ctrl+Alt+S")
    d.accept()
    assert d.isVisible() and saved == []
    assert d.error.isVisibleTo(d)
    assert d.error.text() == "hotkeys.skip: 'Ctrl+Alt+S' is already used by hotkeys.speak"


def test_no_outputs_is_refused(qtbot: QtBot) -> None:
    d = dialog(qtbot)
    box = d.editors["tts.outputs"].findChild(QCheckBox, "headset")
    assert box is not None
    box.setChecked(False)
    d.accept()
    assert d.error.text().startswith("tts.outputs: choose at least one")


def test_device_and_voice_lists_come_from_the_app(qtbot: QtBot) -> None:
    calls: list[str] = []

    def devices() -> list[str]:
        calls.append("devices")
        return ["Built-in Audio", "USB Headset", "Loopback"]

    d = dialog(qtbot, list_devices=devices, list_voices=lambda: ["zh", "en-us"])
    caller = d.combo_of("devices.caller")
    items = [caller.itemText(i) for i in range(caller.count())]
    assert items == ["Built-in Audio", "USB Headset", "Loopback"]
    assert caller.currentText() == "Loopback"  # the saved choice survives the fill
    voice = d.combo_of("tts.voice")
    assert voice.count() == 2 and voice.currentText() == ""
    assert calls == ["devices"] * 4  # caller, agent, speak_to, headset
    assert d.changes() == {}


def test_a_failing_device_list_shows_the_error(qtbot: QtBot) -> None:
    def broken() -> list[str]:
        raise OSError("PortAudio not initialized")

    d = dialog(qtbot, list_devices=broken)
    assert d.error.text() == "device: PortAudio not initialized"
    assert d.combo_of("devices.caller").currentText() == "Loopback"


@pytest.mark.parametrize(
    ("locale", "tab", "label"), [("en", "General", "Company name"), ("zh-TW", "一般", "公司名稱")]
)
def test_other_languages(qtbot: QtBot, locale: str, tab: str, label: str) -> None:
    d = dialog(qtbot, locale=locale)
    assert d.tabs.tabText(0) == tab
    page = d.tabs.widget(0)
    assert page is not None
    form = page.layout()
    assert form.itemAt(0).widget().text() == label  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------
# Keys IT locked: read-only, padlock, "set by your IT department", never saved
# --------------------------------------------------------------------------------------------
LOCKED = Settings(company="Acme", locale="en", tts=TtsSettings(mode="off"),
                  locked=frozenset({"company", "locale", "tts.mode"}))


def test_locked_keys_are_read_only_with_a_padlock_and_the_words(qtbot: QtBot) -> None:
    d = dialog(qtbot, LOCKED, locale="en")
    for key in ("company", "locale", "tts.mode"):
        w = d.editors[key]
        assert not w.isEnabled() and w.toolTip() == "Set by your IT department"
        row = d.lock_notes[key]
        note = row.findChild(QLabel, "locked_note")
        lock = row.findChild(QLabel, "padlock")
        assert note is not None and note.text() == "Set by your IT department"
        assert lock is not None and not lock.pixmap().isNull()
    assert editor(d, "company", QLineEdit).text() == "Acme"  # the locked value is shown
    assert set(d.lock_notes) == {"company", "locale", "tts.mode"}
    assert d.editors["title"].isEnabled() and d.editors["tts.rate"].isEnabled()


@pytest.mark.parametrize(("locale", "words"), [("zh-CN", "由 IT 部门设置"), ("zh-TW", "由 IT 部門設定")])
def test_the_lock_note_speaks_the_agents_language(qtbot: QtBot, locale: str, words: str) -> None:
    d = dialog(qtbot, LOCKED, locale=locale)
    note = d.lock_notes["company"].findChild(QLabel, "locked_note")
    assert note is not None and note.text() == words


def test_the_padlock_is_painted_so_it_needs_no_emoji_font(qtbot: QtBot) -> None:
    image = padlock_pixmap(16).toImage()
    alpha = [[image.pixelColor(x, y).alpha() for x in range(16)] for y in range(16)]
    assert alpha[0][0] == 0 and alpha[15][15] == 0  # transparent corners
    assert alpha[12][8] == 255  # the body is solid
    assert alpha[6][8] == 0  # the hole under the shackle
    assert sum(a > 0 for row in alpha for a in row) > 60


def test_locked_keys_never_come_back_as_changes(qtbot: QtBot, tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    d = dialog(qtbot, LOCKED, save=lambda changes: save_user_settings(changes, user, locked=LOCKED.locked))
    editor(d, "company", QLineEdit).setText("Mine")  # a disabled widget can still be changed by code
    editor(d, "title", QLineEdit).setText("女士")
    assert d.changes() == {"title": "女士"}
    d.accept()
    assert d.result_changes == {"title": "女士"}
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"title": "女士"}


def test_the_locks_come_from_the_machine_files_policy(qtbot: QtBot, tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text('[tts]\nmode = "off"\n[policy]\nlocked = ["tts"]\n', encoding="utf-8")
    s, problems = load_settings([machine])
    assert problems == []
    d = dialog(qtbot, s)
    assert set(d.lock_notes) == {"tts.mode", "tts.voice", "tts.rate", "tts.outputs"}
    assert editor(d, "tts.mode", QComboBox).currentData() == "off"


def test_locks_can_be_given_for_a_plain_mapping(qtbot: QtBot) -> None:
    from softphone_assist.ui.settings_model import settings_values

    d = dialog(qtbot, settings_values(CURRENT), locked={"overlay.opacity"})  # type: ignore[arg-type]
    assert set(d.lock_notes) == {"overlay.opacity"} and not d.editors["overlay.opacity"].isEnabled()


def test_the_padlock_shows_in_the_rendered_dialog(qtbot: QtBot) -> None:
    """Rendered offscreen: the padlock's pixels are on screen beside the locked field (a screenshot is
    kept in test-artifacts/ for a person to look at)."""
    d = dialog(qtbot, LOCKED)
    d.resize(700, 420)
    d.show()
    qtbot.waitExposed(d)
    shot = d.grab()
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot.save(str(artifacts / "settings_dialog_locked.png"))
    lock = d.lock_notes["company"].findChild(QLabel, "padlock")
    assert lock is not None and lock.isVisible()
    image = shot.toImage()
    scale = image.width() / d.width()
    top_left = lock.mapTo(d, lock.rect().topLeft())
    dark = sum(
        image.pixelColor(int((top_left.x() + x) * scale), int((top_left.y() + y) * scale)).lightness() < 128
        for x in range(lock.width()) for y in range(lock.height()))
    assert dark > 40  # the padlock's body alone is 11 x 8 px
