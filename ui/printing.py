"""Printable documents: HTML laid out by Qt's text engine into a PDF (A4, landscape for wide tables)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from services.errors import ValidationError


def ensure_gui_application() -> None:
    """Text layout needs a Qt application; the command line has none, so it makes an offscreen one
    (a QApplication, so that a console opened later in the same process finds the kind it needs)."""
    if QGuiApplication.instance() is None:
        from PySide6.QtWidgets import QApplication

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        ensure_gui_application.app = QApplication([])  # type: ignore[attr-defined]


def write_pdf(html: str, path: Path, *, title: str = "Sitrep", landscape: bool = True, banner: str | None = None) -> None:
    """`banner`: a line printed across the top of every page (an exercise's report says EXERCISE on each)."""
    ensure_gui_application()
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    writer = QPdfWriter(str(tmp))
    writer.setTitle(title)
    writer.setCreator("Sitrep")
    writer.setResolution(96)
    orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    writer.setPageLayout(
        QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orientation, QMarginsF(12, 12, 12, 12))
    )
    doc = QTextDocument()
    doc.setHtml(html)
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    if banner is None:
        doc.setPageSize(QSizeF(rect.width(), rect.height()))
        doc.print_(writer)
    else:
        _print_with_banner(doc, writer, rect.width(), rect.height(), banner)
    del writer  # finishes the file
    try:
        tmp.replace(path)
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror}.") from None


def _print_with_banner(doc: QTextDocument, writer: QPdfWriter, width: float, height: float, banner: str) -> None:
    band = 24.0
    doc.setPageSize(QSizeF(width, height - band))
    pages = doc.pageCount()
    page_height = height - band
    painter = QPainter(writer)
    try:
        for page in range(pages):
            if page:
                writer.newPage()
            painter.fillRect(QRectF(0, 0, width, band - 6), QColor("#7a1f1f"))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(QRectF(0, 0, width, band - 6), Qt.AlignmentFlag.AlignCenter,
                             f"{banner} · page {page + 1} of {pages}")  # fmt: skip
            painter.save()
            painter.translate(0, band - page * page_height)
            doc.drawContents(painter, QRectF(0, page * page_height, width, page_height))
            painter.restore()
    finally:
        painter.end()
