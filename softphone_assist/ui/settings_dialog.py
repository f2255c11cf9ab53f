"""The settings dialog: edits the user layer and hands back only what changed.

Built from `settings_model.dialog_fields()` (one widget per key, one tab per section). On OK
the values are checked (`check_settings`), then, if the app passed `save` (normally
`settings.save_user_settings`), saved; a UserError from either keeps the dialog open with its
message, which names the setting. `changes_accepted` carries the changed leaves.
Keys IT locked (`Settings.locked`) are shown read-only with a padlock and "set by your IT
department", and are never among the changes. The padlock is painted, not a 🔒 character: an
emoji font is not there on every desk (nor offscreen), and a missing glyph would show as a box.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
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

from softphone_assist.core.errors import UserError
from softphone_assist.settings.layers import Settings
from softphone_assist.ui.settings_model import (
    SECTIONS,
    FieldSpec,
    check_settings,
    dialog_fields,
    diff_settings,
    get_path,
    locked_keys,
    pick,
    set_path,
    settings_values,
)
from softphone_assist.ui.strings import DEFAULT_LOCALE

ListFn = Callable[[], Sequence[str]]
SaveFn = Callable[[dict[str, Any]], object]

_SECTION_TITLES = {
    "zh-CN": ("常规", "设备", "检测", "时间", "朗读", "热键", "提示窗"),
    "zh-TW": ("一般", "裝置", "偵測", "時間", "朗讀", "熱鍵", "提示窗"),
    "en": ("General", "Devices", "Detection", "Timing", "Speech", "Hotkeys", "Overlay"),
}
_WORDS = {
    "zh-CN": {"title": "通话助手设置", "refresh": "刷新", "system": "（系统默认）", "default": "默认",
              "locked": "由 IT 部门设置"},
    "zh-TW": {"title": "通話助手設定", "refresh": "重新整理", "system": "（系統預設）", "default": "預設",
              "locked": "由 IT 部門設定"},
    "en": {"title": "Call Assist settings", "refresh": "Refresh", "system": "(system default)",
           "default": "default", "locked": "Set by your IT department"},
}


def padlock_pixmap(size: int = 16, color: str = "#555555") -> QPixmap:
    """A padlock drawn with QPainter: the same on every desk, whatever fonts it has."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(color), max(1.5, size / 9))
    p.setPen(pen)
    s = float(size)
    p.drawArc(QRectF(s * 0.28, s * 0.08, s * 0.44, s * 0.5), 0, 180 * 16)  # the shackle
    p.drawLine(int(s * 0.28), int(s * 0.33), int(s * 0.28), int(s * 0.45))
    p.drawLine(int(s * 0.72), int(s * 0.33), int(s * 0.72), int(s * 0.45))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    p.drawRoundedRect(QRectF(s * 0.15, s * 0.45, s * 0.7, s * 0.5), s * 0.08, s * 0.08)  # the body
    p.end()
    return pixmap


def _device_value(text: str) -> str | int | None:
    """What a device box means: empty = system default, digits = a device index, else a name."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


class SettingsDialog(QDialog):
    changes_accepted = Signal(dict)

    def __init__(
        self,
        current: Settings | Mapping[str, Any],
        *,
        locale: str = DEFAULT_LOCALE,
        list_devices: ListFn | None = None,
        list_voices: ListFn | None = None,
        save: SaveFn | None = None,
        locked: Collection[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # IT's locks: from the Settings (machine file's [policy]) unless given
        self.locked = frozenset(locked_keys(current) if locked is None else locked)
        self.lock_notes: dict[str, QWidget] = {}  # key -> the padlock + "set by your IT department" row
        self.ui_locale = locale if locale in _WORDS else DEFAULT_LOCALE
        self.words = _WORDS[self.ui_locale]
        self.setWindowTitle(self.words["title"])
        self.current = settings_values(current)
        self.specs = dialog_fields()
        self.list_fns: dict[str, ListFn | None] = {"device": list_devices, "voice": list_voices}
        self.save = save
        self.editors: dict[str, QWidget] = {}
        self.result_changes: dict[str, Any] = {}

        self.error = QLabel()  # before the editors: filling a device list can already fail
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.hide()
        self.tabs = QTabWidget()
        forms: dict[str, QFormLayout] = {}
        for section, title in zip(SECTIONS, _SECTION_TITLES[self.ui_locale], strict=True):
            page = QWidget()
            forms[section] = QFormLayout(page)
            self.tabs.addTab(page, title)
        for spec in self.specs:
            editor = self._editor(spec, get_path(self.current, spec.path))
            self.editors[spec.key] = editor
            row = self._locked_row(spec.key, editor) if spec.key in self.locked else editor
            forms[spec.section].addRow(spec.label(self.ui_locale), row)

        std = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(std.Ok | std.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    # ---------------------------------------------------------------- editors
    def _locked_row(self, key: str, editor: QWidget) -> QWidget:
        """The editor, read-only, with a padlock and the words "set by your IT department"."""
        editor.setEnabled(False)
        editor.setToolTip(self.words["locked"])
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        lock = QLabel()
        lock.setObjectName("padlock")
        lock.setPixmap(padlock_pixmap())
        note = QLabel(self.words["locked"])
        note.setObjectName("locked_note")
        note.setStyleSheet("color: #666666;")
        for w in (lock, note):
            w.setToolTip(self.words["locked"])
            row.addWidget(w)
        self.lock_notes[key] = holder
        return holder

    def _editor(self, spec: FieldSpec, value: Any) -> QWidget:
        if spec.kind in ("text", "hotkey"):
            line = QLineEdit("" if value is None else str(value))
            if spec.kind == "hotkey":
                line.setPlaceholderText("Ctrl+Alt+S")
            return line
        if spec.kind == "choice":
            combo = QComboBox()
            for choice, labels in spec.choices:
                combo.addItem(pick(labels, self.ui_locale), choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        if spec.kind in ("device", "voice"):
            return self._list_editor(spec.kind, "" if value is None else str(value))
        if spec.kind in ("float", "int"):
            return self._number_editor(spec, value)
        if spec.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        holder = QWidget()  # outputs: one box per place TTS may play
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        for out, labels in spec.choices:
            box = QCheckBox(pick(labels, self.ui_locale))
            box.setObjectName(out)
            box.setChecked(out in (value or ()))
            row.addWidget(box)
        return holder

    def _number_editor(self, spec: FieldSpec, value: Any) -> QWidget:
        # Optional keys get one step below the minimum that reads "default": not set here,
        # the script's or the engine's value applies.
        low = spec.minimum - spec.step if spec.optional else spec.minimum
        start = low if value is None else value
        spin: QDoubleSpinBox | QSpinBox
        if spec.kind == "int":
            spin = QSpinBox()
            spin.setRange(int(low), int(spec.maximum))
            spin.setSingleStep(int(spec.step))
            spin.setValue(int(start))
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(2 if spec.step < 1 else 1)
            spin.setRange(low, spec.maximum)
            spin.setSingleStep(spec.step)
            spin.setValue(float(start))
        if spec.optional:
            spin.setSpecialValueText(self.words["default"])
        spin.setSuffix(spec.suffix)
        return spin

    def _list_editor(self, kind: str, value: str) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        combo = QComboBox()
        combo.setEditable(True)  # free text: a device name (or part of one), or an index
        edit = combo.lineEdit()
        if edit is not None:
            edit.setPlaceholderText(self.words["system"])
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

    def _value(self, spec: FieldSpec) -> Any:
        w = self.editors[spec.key]
        if isinstance(w, QLineEdit):
            return w.text().strip()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QDoubleSpinBox | QSpinBox):
            if spec.optional and w.value() == w.minimum():
                return None
            return w.value()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if spec.kind == "device":
            return _device_value(self.combo_of(spec.key).currentText())
        if spec.kind == "voice":
            return self.combo_of(spec.key).currentText().strip() or None
        boxes = {out: w.findChild(QCheckBox, out) for out, _ in spec.choices}
        return [out for out, box in boxes.items() if box is not None and box.isChecked()]

    def values(self) -> dict[str, Any]:
        """Every field's value as the widgets hold it, nested like the settings."""
        out: dict[str, Any] = {}
        for spec in self.specs:
            set_path(out, spec.path, self._value(spec))
        return out

    def changes(self) -> dict[str, Any]:
        return diff_settings(self.current, self.values(), self.specs, self.locked)

    def accept(self) -> None:
        values = self.values()
        changes = diff_settings(self.current, values, self.specs, self.locked)
        try:
            check_settings(values)
            if self.save is not None and changes:
                self.save(changes)
        except UserError as e:
            self._show_error(str(e))
            return
        self.result_changes = changes
        self.changes_accepted.emit(changes)
        super().accept()

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def edit_settings(
    current: Settings | Mapping[str, Any],
    *,
    locale: str = DEFAULT_LOCALE,
    list_devices: ListFn | None = None,
    list_voices: ListFn | None = None,
    save: SaveFn | None = None,
    parent: QWidget | None = None,
) -> dict[str, Any] | None:
    """Run the dialog modally; the changed leaves (already saved if `save` is given), or None."""
    dialog = SettingsDialog(current, locale=locale, list_devices=list_devices, list_voices=list_voices,
                            save=save, parent=parent)
    return dialog.result_changes if dialog.exec() == QDialog.DialogCode.Accepted else None
