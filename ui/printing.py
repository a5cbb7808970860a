"""Printable documents: HTML laid out by Qt's text engine into a PDF (A4, landscape for wide tables)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from services.errors import ValidationError


def ensure_gui_application() -> None:
    """Text layout needs a Qt application; the command line has none, so it makes an offscreen one
    (a QApplication, so that a console opened later in the same process finds the kind it needs)."""
    if QGuiApplication.instance() is None:
        from PySide6.QtWidgets import QApplication

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        ensure_gui_application.app = QApplication([])  # type: ignore[attr-defined]


def write_pdf(html: str, path: Path, *, title: str = "Sitrep", landscape: bool = True) -> None:
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
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    doc.print_(writer)
    del writer  # finishes the file
    try:
        tmp.replace(path)
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror}.") from None
