"""Import incident history from a file: the same import as `sitrep import-history`, with a progress bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from services.analytics.history_import import ColumnMapping, HistoryReport
from services.errors import SitrepError
from ui.workers import SerialWorker


class HistoryImportDialog(QDialog):
    def __init__(self, ctx, worker: SerialWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker = worker
        self.report: HistoryReport | None = None
        self._ticket: int | None = None
        self.setWindowTitle("Import incident history")
        self.setMinimumWidth(620)
        lay = QVBoxLayout(self)
        intro = QLabel(
            "A CSV export (map its columns below), a status page's incidents.json (Statuspage format) or a "
            "Sitrep export. Importing the same file again changes nothing; bad rows are listed and left out.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.file_edit = QLineEdit(self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file_edit, 1)
        row.addWidget(browse)
        file_label = QLabel("&File:", self)
        file_label.setBuddy(self.file_edit)
        form.addRow(file_label, row)
        self.format_box = QComboBox(self)
        for label, value in (("Tell from the file", None), ("CSV", "csv"), ("Statuspage incidents.json", "statuspage"),
                             ("Sitrep export", "sitrep")):  # fmt: skip
            self.format_box.addItem(label, value)
        form.addRow("F&ormat:", self.format_box)
        self.mapping_edit = QLineEdit(self)
        self.mapping_edit.setPlaceholderText("optional: a mapping file (.toml) saved with --save-mapping")
        form.addRow("&Mapping file:", self.mapping_edit)
        self.pairs_edit = QLineEdit(self)
        self.pairs_edit.setPlaceholderText("e.g. title=Summary, severity=Priority, declared=Created")
        form.addRow("&Columns:", self.pairs_edit)
        self.values_edit = QLineEdit(self)
        self.values_edit.setPlaceholderText(
            "what values mean, e.g. severity=0:SEV5,1:SEV4; type=db:data_loss"
        )
        self.values_edit.setToolTip("One field per ';': FIELD=raw:meaning,raw:meaning (as --values)")
        form.addRow("&Values:", self.values_edit)
        self.severity_box = QComboBox(self)
        self.severity_box.addItem("unknown (kept apart in metrics)", None)
        for level in ctx.sitrep.catalog.severities.values():
            self.severity_box.addItem(f"{level.id} ({level.label})", level.id)
        self.severity_box.setToolTip("The severity of rows that have none (as --default-severity)")
        form.addRow("&No severity means:", self.severity_box)
        self.first_box = QComboBox(self)
        for label, value in (("its declaration", "declared"), ("its detection", "detected")):
            self.first_box.addItem(label, value)
        self.first_box.setToolTip(
            "Statuspage: what an incident's first update stands for (as --first-update)"
        )
        form.addRow("First status page &update is:", self.first_box)
        self.tz_edit = QLineEdit(self)
        self.tz_edit.setPlaceholderText("UTC (for times written without a zone), e.g. Europe/Berlin")
        form.addRow("&Time zone:", self.tz_edit)
        lay.addLayout(form)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        lay.addWidget(self.progress)
        self.phase = QLabel("", self)
        lay.addWidget(self.phase)
        self.result = QPlainTextEdit(self)
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("What was imported, and any rows left out, appear here.")
        lay.addWidget(self.result, 1)
        self.buttons = QDialogButtonBox(self)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.import_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        lay.addWidget(self.buttons)
        worker.done.connect(self._done)
        worker.failed.connect(self._failed)
        worker.progress.connect(self._progress)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Incident history", "", "History (*.csv *.json);;All files (*)"
        )
        if path:
            self.file_edit.setText(path)

    def start(self) -> int | None:
        path = self.file_edit.text().strip()
        if not path:
            self.result.setPlainText("Choose the file to import first.")
            return None
        try:
            mapping = (
                ColumnMapping.from_file(Path(self.mapping_edit.text().strip()))
                if self.mapping_edit.text().strip()
                else ColumnMapping()
            )
            pairs = [p.strip() for p in self.pairs_edit.text().split(",") if p.strip()]
            values = [v.strip() for v in self.values_edit.text().split(";") if v.strip()]
            flags = ColumnMapping.from_pairs(pairs, values)
            flags.default_severity = self.severity_box.currentData()
            mapping = mapping.merged_with(flags)
        except SitrepError as err:
            self.result.setPlainText(err.message)
            return None
        tz = self.tz_edit.text().strip() or None
        fmt = self.format_box.currentData()
        first_update = self.first_box.currentData()
        history = self.ctx.sitrep.history
        author = self.ctx.author

        def work(progress):
            return history.import_file(Path(path), author=author, format=fmt, mapping=mapping, timezone=tz,
                                       progress=progress, first_update=first_update)  # fmt: skip

        self.import_button.setEnabled(False)
        self.result.setPlainText("Importing…")
        self._ticket = self.worker.submit(work, with_progress=True)
        return self._ticket

    def _progress(self, ticket: int, phase: str, done: int, total: int) -> None:
        if ticket != self._ticket:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.phase.setText(f"{phase.capitalize()}…")

    def _done(self, ticket: int, report) -> None:
        if ticket != self._ticket:
            return
        self.report = report
        self.import_button.setEnabled(True)
        self.phase.setText("Done.")
        self.progress.setValue(self.progress.maximum())
        lines = report.summary_lines()
        if report.columns:
            lines.append("Columns not used:")
            lines += [f"  {note}" for note in report.columns]
        if report.flagged:
            lines.append("Imported with milestones that contradict each other (flagged):")
            lines += [f"  {p}" for p in report.flagged]
        if report.problems:
            lines.append("Refused:")
            lines += [f"  {p}" for p in report.problems]
        self.result.setPlainText("\n".join(lines))
        self.ctx.status_message(f"{lines[0]}. {report.outcome.capitalize()}.")

    def _failed(self, ticket: int, message: str) -> None:
        if ticket != self._ticket:
            return
        self.import_button.setEnabled(True)
        self.phase.setText("Nothing was imported.")
        self.result.setPlainText(message)
