"""The parts of a comms draft that depend on the installed channels, built from what each channel
adapter declares (services/adapters/channel.py): the channel choice, the recipient fields and the
preview tabs. A channel added by a plugin shows up here with no edit in the console."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QTextBrowser,
    QWidget,
)

from services.adapters.channel import CommsChannel, MessageText

Channels = Mapping[str, type[CommsChannel]]
_SAMPLE = MessageText("Subject", "Body")


class ChannelChoice(QWidget):
    """One check box per installed channel."""

    def __init__(self, channels: Channels, on_change: Callable[..., None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}
        for name, cls in channels.items():
            box = QCheckBox(cls.channel_label, self)
            box.setObjectName(f"channel-{name}")
            box.toggled.connect(on_change)
            self.boxes[name] = box
            lay.addWidget(box)
        lay.addStretch(1)

    def chosen(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.isChecked()]


class RecipientEdits:
    """A line edit per recipient field of every installed channel, added as rows of `form`."""

    def __init__(self, channels: Channels, form: QFormLayout, parent: QWidget, on_change: Callable[..., None]) -> None:
        self.edits: dict[str, QLineEdit] = {}
        self._addresses: set[str] = set()
        for cls in channels.values():
            for f in cls.recipient_fields:
                edit = QLineEdit(parent)
                edit.setObjectName(f"recipients-{f.key}")
                edit.setAccessibleName(f.label)
                if f.placeholder:
                    edit.setPlaceholderText(f.placeholder)
                edit.textChanged.connect(on_change)
                self.edits[f.key] = edit
                if f.addresses:
                    self._addresses.add(f.key)
                form.addRow(f.label, edit)

    def values(self) -> dict[str, str]:
        return {key: edit.text() for key, edit in self.edits.items()}

    def show(self, recipients: Mapping[str, Any]) -> None:
        for key, edit in self.edits.items():
            value = recipients.get(key)
            edit.setText(", ".join(value or []) if key in self._addresses else str(value or ""))

    def clear(self) -> None:
        for edit in self.edits.values():
            edit.clear()

    def widgets(self) -> list[QLineEdit]:
        return list(self.edits.values())


class ChannelPreviews(QTabWidget):
    """A tab per installed channel showing its rendering as the channel adapter previews it."""

    def __init__(self, channels: Channels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channels = dict(channels)
        self.views: dict[str, list[QTextBrowser | QPlainTextEdit]] = {}
        for name, cls in self.channels.items():
            views: list[QTextBrowser | QPlainTextEdit] = []
            # A first rendering says how many parts the channel shows and which are rich text.
            sample = cls.preview(cls.render_message(_SAMPLE))
            tabs = QTabWidget(self) if len(sample) > 1 else None
            for part in sample:
                if part.html is not None:
                    view: QTextBrowser | QPlainTextEdit = QTextBrowser(self)
                    view.setOpenLinks(False)
                else:
                    view = QPlainTextEdit(self)
                    view.setReadOnly(True)
                view.setObjectName(f"preview-{name}-{len(views)}")
                views.append(view)
                if tabs is not None:
                    tabs.addTab(view, part.title)
            self.views[name] = views
            self.addTab(tabs if tabs is not None else views[0], cls.channel_label)

    def show_rendering(self, rendered: Mapping[str, Any]) -> None:
        for name, views in self.views.items():
            r = rendered.get(name)
            if not r:
                for view in views:
                    view.clear()
                if isinstance(views[0], QTextBrowser):
                    label = self.channels[name].channel_label
                    views[0].setHtml(f"<i>{label} is not chosen for this message.</i>")
                continue
            for view, part in zip(views, self.channels[name].preview(r), strict=False):
                if isinstance(view, QTextBrowser):
                    view.setHtml(part.html if part.html is not None else "")
                else:
                    view.setPlainText(part.text if part.text is not None else "")

    def clear_all(self) -> None:
        for views in self.views.values():
            for view in views:
                view.clear()

    def main_text(self, channel: str) -> str:
        """What the channel's main view shows, as plain text."""
        return self.views[channel][0].toPlainText()

