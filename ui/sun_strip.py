"""The follow-the-sun time line: one row per responder over the next day, their working hours, their night
and their own clock's hours, the viewer's now, and the proposed handover point. Painted by hand: it is a
small picture, not a chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

KIND_COLOURS = {"work": QColor("#7cc47f"), "off": QColor("#d9dde3"), "night": QColor("#49536b")}
KIND_TEXT = {"work": QColor("#102a12"), "off": QColor("#2b2f36"), "night": QColor("#f2f4f8")}
NOW = QColor("#d13438")
HANDOVER = QColor("#b36b00")


@dataclass(frozen=True)
class SunRow:
    name: str
    roles: str  # "Incident Commander" or "could take over"
    zone: object  # tzinfo for the row's own hour labels
    spans: tuple[tuple[datetime, datetime, str], ...]
    tooltip: str


class SunStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sun-strip")
        self.setAccessibleName("Follow-the-sun time line")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.rows: list[SunRow] = []
        self.start = self.end = self.now = datetime.now().astimezone()
        self.handover: datetime | None = None
        self.viewer_zone = None

    def set_plan(self, rows: list[SunRow], start: datetime, end: datetime, now: datetime,
                 handover: datetime | None, viewer_zone) -> None:  # fmt: skip
        self.rows, self.start, self.end, self.now, self.handover = rows, start, end, now, handover
        self.viewer_zone = viewer_zone
        self.updateGeometry()
        self.update()

    # -- geometry -------------------------------------------------------------------------------
    def _row_h(self) -> int:
        return int(self.fontMetrics().height() * 2.1)

    def _head_h(self) -> int:
        return int(self.fontMetrics().height() * 1.6)

    def _label_w(self) -> int:
        fm = self.fontMetrics()
        widest = max([fm.horizontalAdvance(r.name) for r in self.rows] + [fm.horizontalAdvance("Incident Commander")])
        return min(widest + 16, max(140, self.width() // 4))

    def sizeHint(self) -> QSize:
        return QSize(720, self._head_h() + self._row_h() * max(1, len(self.rows)) + 6)

    def minimumSizeHint(self) -> QSize:
        return QSize(420, self.sizeHint().height())

    def _x(self, t: datetime, left: float, width: float) -> float:
        span = (self.end - self.start).total_seconds() or 1
        return left + width * (t - self.start).total_seconds() / span

    def row_at(self, y: float) -> int | None:
        i = int((y - self._head_h()) // self._row_h())
        return i if 0 <= i < len(self.rows) else None

    def event(self, e) -> bool:
        if e.type() == e.Type.ToolTip:
            i = self.row_at(e.pos().y())
            if i is not None:
                self.setToolTip(self.rows[i].tooltip)
            else:
                self.setToolTip("")
        return super().event(e)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        pal = self.palette()
        label_w = self._label_w()
        left, width = label_w, max(10, self.width() - label_w - 8)
        head, row_h = self._head_h(), self._row_h()
        text = pal.color(QPalette.ColorRole.WindowText)
        # The viewer's hours along the top, every three hours.
        p.setPen(text)
        tick = self.start.astimezone(self.viewer_zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while tick < self.end:
            x = self._x(tick, left, width)
            if tick.hour % 3 == 0:
                p.drawLine(QPointF(x, head - 4), QPointF(x, head))
                label = tick.strftime("%H:%M") if tick.hour else tick.strftime("%a")
                p.drawText(QRectF(x - 30, 0, 60, head - 4), Qt.AlignmentFlag.AlignCenter, label)
            tick += timedelta(hours=1)
        p.drawText(QRectF(0, 0, label_w - 8, head - 4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   "Your time")  # fmt: skip
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        for i, r in enumerate(self.rows):
            top = head + i * row_h
            bar = QRectF(left, top + 3, width, row_h - 6)
            p.setPen(text)
            p.setFont(self.font())
            p.drawText(QRectF(4, top, label_w - 8, row_h / 2 + 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                       fm.elidedText(r.name, Qt.TextElideMode.ElideRight, label_w - 10))  # fmt: skip
            p.setFont(small)
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(QRectF(4, top + row_h / 2, label_w - 8, row_h / 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       r.roles)  # fmt: skip
            for s, e, kind in r.spans:
                x0, x1 = self._x(s, left, width), self._x(e, left, width)
                p.fillRect(QRectF(x0, bar.top(), x1 - x0, bar.height()), KIND_COLOURS[kind])
            # The responder's own clock, every six of their hours, inside the bar.
            t = self.start.astimezone(r.zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            while t < self.end:
                if t.hour % 6 == 0:
                    x = self._x(t, left, width)
                    kind = next((k for s, e, k in r.spans if s <= t < e), "off")
                    p.setPen(KIND_TEXT[kind])
                    p.drawText(QRectF(x + 2, bar.top(), 40, bar.height()), Qt.AlignmentFlag.AlignVCenter, f"{t:%H}")
                    p.drawLine(QPointF(x, bar.top()), QPointF(x, bar.top() + 4))
                t += timedelta(hours=1)
        bottom = head + row_h * len(self.rows)
        if self.handover is not None and self.start <= self.handover <= self.end:
            x = self._x(self.handover, left, width)
            pen = QPen(HANDOVER, 2, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(x, head - 2), QPointF(x, bottom))
        x = self._x(self.now, left, width)
        p.setPen(QPen(NOW, 2))
        p.drawLine(QPointF(x, head - 2), QPointF(x, bottom))
        p.end()
