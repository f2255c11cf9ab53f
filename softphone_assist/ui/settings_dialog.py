"""The settings dialog: edits the user layer and hands back only what changed.

Built from `settings_model.FIELDS` (one widget per field, one tab per section). On OK the
values are checked the way the loader will check them (`check_settings`); a bad value keeps
the dialog open with the error message, naming the setting. The dialog saves nothing itself:
`changes_accepted` carries the changed leaves for the settings module's `save_user_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from softphone_assist.errors import UserError
from softphone_assist.ui.settings_model import (
    FIELDS,
    OUTPUTS,
    SECTIONS,
    FieldSpec,
    check_settings,
    diff_settings,
    get_path,
    set_path,
    timing_fields,
)
from softphone_assist.ui.strings import DEFAULT_LOCALE

ListFn = Callable[[], Sequence[str]]

_SECTION_TITLES = {
    "zh-CN": ("常规", "设备", "检测", "时间", "朗读", "热键", "提示窗"),
    "zh-TW": ("一般", "裝置", "偵測", "時間", "朗讀", "熱鍵", "提示窗"),
    "en": ("General", "Devices", "Detection", "Timings", "Speech", "Hotkeys", "Overlay"),
}
_WORDS = {
    "zh-CN": {"title": "通话助手设置", "refresh": "刷新", "default": "（系统默认）",
              "caller": "来电方（通话中）", "agent": "我的耳机", "no_timings": "时间设置来自话术文件。"},
    "zh-TW": {"title": "通話助手設定", "refresh": "重新整理", "default": "（系統預設）",
              "caller": "來電方（通話中）", "agent": "我的耳機", "no_timings": "時間設定來自話術檔案。"},
    "en": {"title": "Call Assist settings", "refresh": "Refresh", "default": "(system default)",
           "caller": "Caller (into the call)", "agent": "My headset",
           "no_timings": "Timings come from the script file."},
}


class SettingsDialog(QDialog):
    changes_accepted = Signal(dict)

    def __init__(
        self,
        current: Mapping[str, Any],
        *,
        locale: str = DEFAULT_LOCALE,
        list_devices: ListFn | None = None,
        list_voices: ListFn | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ui_locale = locale if locale in _WORDS else DEFAULT_LOCALE
        self.words = _WORDS[self.ui_locale]
        self.setWindowTitle(self.words["title"])
        self.current = current
        self.specs = (*FIELDS, *timing_fields(current))
        self.list_fns: dict[str, ListFn | None] = {"device": list_devices, "voice": list_voices}
        self.editors: dict[str, QWidget] = {}
        self.result_changes: dict[str, Any] = {}

        self.tabs = QTabWidget()
        forms: dict[str, QFormLayout] = {}
        for section, title in zip(SECTIONS, _SECTION_TITLES[self.ui_locale], strict=True):
            page = QWidget()
            forms[section] = QFormLayout(page)
            self.tabs.addTab(page, title)
        for spec in self.specs:
            editor = self._editor(spec, get_path(current, spec.path, spec.default))
            self.editors[spec.key] = editor
            forms[spec.section].addRow(spec.label(self.ui_locale), editor)
        if not any(s.section == "timings" for s in self.specs):
            forms["timings"].addRow(QLabel(self.words["no_timings"]))

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.hide()
        std = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(std.Ok | std.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    # ---------------------------------------------------------------- editors
    def _editor(self, spec: FieldSpec, value: Any) -> QWidget:
        if spec.kind in ("text", "hotkey"):
            line = QLineEdit(str(value or ""))
            if spec.kind == "hotkey":
                line.setPlaceholderText("<ctrl>+<alt>+s")
            return line
        if spec.kind == "choice":
            combo = QComboBox()
            for choice, labels in spec.choices:
                combo.addItem(labels[{"zh-CN": 0, "zh-TW": 1, "en": 2}[self.ui_locale]], choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        if spec.kind in ("device", "voice"):
            return self._list_editor(spec.kind, str(value or ""))
        if spec.kind == "float":
            dspin = QDoubleSpinBox()
            dspin.setRange(spec.minimum, spec.maximum)
            dspin.setSingleStep(spec.step)
            dspin.setDecimals(2 if spec.step < 1 else 1)
            dspin.setSuffix(spec.suffix)
            dspin.setValue(float(value))
            return dspin
        if spec.kind == "int":
            spin = QSpinBox()
            spin.setRange(int(spec.minimum), int(spec.maximum))
            spin.setSingleStep(int(spec.step))
            spin.setValue(int(value))
            return spin
        if spec.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        # outputs: where TTS plays, one box per destination
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        for out in OUTPUTS:
            box = QCheckBox(self.words[out])
            box.setObjectName(out)
            box.setChecked(out in (value or ()))
            row.addWidget(box)
        return holder

    def _list_editor(self, kind: str, value: str) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        combo = QComboBox()
        combo.setEditable(True)  # free text: a device name pattern the app matches later
        edit = combo.lineEdit()
        if edit is not None:
            edit.setPlaceholderText(self.words["default"])
        combo.setEditText(value)
        combo.setMinimumContentsLength(28)
        row.addWidget(combo, 1)
        if self.list_fns[kind] is not None:
            refresh = QPushButton(self.words["refresh"])
            refresh.clicked.connect(lambda: self._fill(combo, kind))
            row.addWidget(refresh)
            self._fill(combo, kind)
        holder.setProperty("combo", combo)
        return holder

    def _fill(self, combo: QComboBox, kind: str) -> None:
        fn = self.list_fns[kind]
        if fn is None:
            return
        text = combo.currentText()
        try:
            names = list(fn())
        except Exception as e:  # a PortAudio/driver error must not close the dialog
            self._show_error(f"{kind}: {e}")
            return
        combo.clear()
        combo.addItems(names)
        combo.setEditText(text)  # keep what the agent typed or had

    # ---------------------------------------------------------------- values
    def combo_of(self, key: str) -> QComboBox:
        """The combo box of a device/voice field (for the app and tests)."""
        combo = self.editors[key].property("combo")
        assert isinstance(combo, QComboBox)
        return combo

    def values(self) -> dict[str, Any]:
        """Every field's value as the widgets hold it, nested like the settings."""
        out: dict[str, Any] = {}
        for spec in self.specs:
            w = self.editors[spec.key]
            value: Any
            if isinstance(w, QLineEdit):
                value = w.text().strip()
            elif isinstance(w, QComboBox):
                value = w.currentData()
            elif isinstance(w, QDoubleSpinBox | QSpinBox):
                value = w.value()
            elif isinstance(w, QCheckBox):
                value = w.isChecked()
            elif spec.kind in ("device", "voice"):
                value = self.combo_of(spec.key).currentText().strip()
            else:
                boxes = {o: w.findChild(QCheckBox, o) for o in OUTPUTS}
                value = [o for o, box in boxes.items() if box is not None and box.isChecked()]
            set_path(out, spec.path, value)
        return out

    def changes(self) -> dict[str, Any]:
        return diff_settings(self.current, self.values(), self.specs)

    def accept(self) -> None:
        values = self.values()
        try:
            check_settings(values)
        except UserError as e:
            self._show_error(str(e))
            return
        self.result_changes = diff_settings(self.current, values, self.specs)
        self.changes_accepted.emit(self.result_changes)
        super().accept()

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def edit_settings(
    current: Mapping[str, Any],
    *,
    locale: str = DEFAULT_LOCALE,
    list_devices: ListFn | None = None,
    list_voices: ListFn | None = None,
    parent: QWidget | None = None,
) -> dict[str, Any] | None:
    """Run the dialog modally; the changed leaves, or None when cancelled."""
    dialog = SettingsDialog(current, locale=locale, list_devices=list_devices, list_voices=list_voices,
                            parent=parent)
    return dialog.result_changes if dialog.exec() == QDialog.DialogCode.Accepted else None
