"""The guided triage dialog: one alert group, one decision tree (resources/triage/), one question at a
time. The path and the outcome are recorded; an "incident" outcome declares from the group (its alerts
linked and on the timeline, the declarer commander, the bridge opened when asked or demanded).
Also the alert-quality view."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from services.detection.correlation import AlertGroup
from services.detection.declare import BRIDGE_ALWAYS
from services.detection.triage import Walk
from ui.operations import run_action
from ui.timefmt import viewer_time


class TriageDialog(QDialog):
    def __init__(self, ctx, group: AlertGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.group = group
        self.setObjectName("triage-dialog")
        self.setWindowTitle("Triage alert group")
        self.declared = None
        load = ctx.sitrep.triage.trees()
        for problem in load.problems:
            ctx.status_message(f"Triage tree not loaded: {problem}", error=True)
        self.trees = load.trees
        self.tree_choice = QComboBox(self)
        self.tree_choice.setAccessibleName("Decision tree")
        for tree in self.trees.values():
            self.tree_choice.addItem(tree.title, tree.id)
        self.tree_choice.currentIndexChanged.connect(lambda _i: self._restart())

        summary = QLabel(self)
        summary.setObjectName("triage-group")
        summary.setWordWrap(True)
        summary.setTextFormat(Qt.TextFormat.RichText)
        summary.setText(
            f"<b>{html.escape(group.headline())}</b><br>Likely origin: <b>{html.escape(group.origin or 'unknown')}</b>"
            f" — {html.escape(group.origin_reason)}<br>Services: {html.escape(', '.join(group.services) or '—')}; "
            f"layers: {html.escape(', '.join(group.layers) or '—')}; first alert {viewer_time(group.first_at)}"
            + (f"; <span style='color:#d13438'>{group.critical} critical</span>" if group.critical else "")
            + (f"<br>Routes to: <b>{html.escape(oncall)}</b>" if (oncall := ctx.sitrep.alerts.standard.oncall_for(group.origin)) else "")
        )  # fmt: skip
        self.question = QLabel(self)
        self.question.setObjectName("triage-question")
        self.question.setWordWrap(True)
        self.question.setMinimumHeight(48)
        self.answers_box = QWidget(self)
        self.answers_layout = QVBoxLayout(self.answers_box)
        self.answers_layout.setContentsMargins(12, 0, 0, 0)
        self.answer_group = QButtonGroup(self)
        self.path = QListWidget(self)
        self.path.setObjectName("triage-path")
        self.path.setAccessibleName("Path so far")
        self.path.setWordWrap(True)
        self.back_button = QPushButton("&Back", self)
        self.back_button.clicked.connect(self._back)
        self.next_button = QPushButton("&Next", self)
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self._next)
        self.answer_group.idToggled.connect(lambda _i, _on: self.next_button.setEnabled(self.answer_group.checkedId() >= 0))

        self.outcome = QLabel(self)
        self.outcome.setObjectName("triage-outcome")
        self.outcome.setWordWrap(True)
        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("triage-title")
        origin = group.origin or (group.services[0] if group.services else "Alerts")
        self.title_edit.setText(f"{origin}: {group.rules[0] if group.rules else 'alerts'} and {group.size - 1} related")
        self.severity = QComboBox(self)
        self.severity.setAccessibleName("Severity")
        for level in ctx.sitrep.catalog.severities.values():
            self.severity.addItem(f"{level.id} — {level.label}", level.id)
        self.severity.currentIndexChanged.connect(self._severity_chosen)
        self.bridge = QCheckBox("Open the &bridge now", self)
        self.declare_button = QPushButton("&Declare incident", self)
        self.declare_button.setObjectName("triage-declare")
        self.declare_button.clicked.connect(self._declare)
        self.record_button = QPushButton("&Record outcome", self)
        self.record_button.clicked.connect(self._record)
        self.form = QWidget(self)
        f = QFormLayout(self.form)
        f.setContentsMargins(0, 0, 0, 0)
        f.addRow("&Title:", self.title_edit)
        f.addRow("&Severity:", self.severity)
        f.addRow("", self.bridge)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)

        steps = QHBoxLayout()
        steps.addWidget(self.back_button)
        steps.addStretch(1)
        steps.addWidget(self.next_button)
        ends = QHBoxLayout()
        ends.addStretch(1)
        ends.addWidget(self.record_button)
        ends.addWidget(self.declare_button)
        ends.addWidget(close)
        layout = QVBoxLayout(self)
        tree_row = QHBoxLayout()
        tree_row.addWidget(QLabel("Decision tree:", self))
        tree_row.addWidget(self.tree_choice, 1)
        layout.addLayout(tree_row)
        layout.addWidget(summary)
        layout.addWidget(self.question)
        layout.addWidget(self.answers_box)
        layout.addLayout(steps)
        layout.addWidget(QLabel("Path so far:", self))
        layout.addWidget(self.path, 1)
        layout.addWidget(self.outcome)
        layout.addWidget(self.form)
        layout.addLayout(ends)
        self.resize(760, 620)
        self.walk: Walk | None = None
        self._restart()

    def _restart(self) -> None:
        tree = self.trees.get(self.tree_choice.currentData())
        if tree is None:
            self.question.setText("No decision tree could be loaded (see the status bar).")
            self.walk = None
            self._show()
            return
        self.walk = Walk.start(tree)
        self._show()

    def _show(self) -> None:
        for button in self.answer_group.buttons():
            self.answer_group.removeButton(button)
            button.deleteLater()
        walk = self.walk
        self.path.clear()
        for step in walk.path if walk else []:
            text = f"{step['node']}: {step.get('ask') or ''} → {step['answer']}" if "answer" in step else f"{step['node']}: {step.get('do')}"
            if step.get("do") and "answer" in step:
                text += f" (do: {step['do']})"
            self.path.addItem(text)
        done = bool(walk and walk.done)
        self.back_button.setEnabled(bool(walk and walk.path))
        self.next_button.setVisible(not done)
        self.next_button.setEnabled(False)
        self.answers_box.setVisible(not done)
        if walk and not done:
            node = walk.node
            self.question.setText(f"<b>{node.id}</b>: {html.escape(node.ask or '')}")
            for i, answer in enumerate(node.answers):
                button = QRadioButton(f"&{i + 1}  {answer.label}", self.answers_box)
                self.answer_group.addButton(button, i)
                self.answers_layout.addWidget(button)
            # Nothing chosen for the person: Next waits for an answer (Alt+number or the arrows).
            self.answer_group.setExclusive(False)
            for button in self.answer_group.buttons():
                button.setChecked(False)
            self.answer_group.setExclusive(True)
            self.answer_group.buttons()[0].setFocus()
        elif done:
            self.question.setText("<b>Outcome reached.</b>")
        is_incident = done and walk.outcome.verdict == "incident"
        self.outcome.setVisible(done)
        if done:
            self.outcome.setText(f"<b>{html.escape(walk.outcome.verdict.capitalize())}</b>: {html.escape(walk.outcome.end)}")
            if walk.outcome.propose_severity:
                index = self.severity.findData(walk.outcome.propose_severity)
                if index >= 0:
                    self.severity.setCurrentIndex(index)
        self.form.setVisible(is_incident)
        self.declare_button.setVisible(is_incident)
        self.record_button.setVisible(done and not is_incident)
        self._severity_chosen()

    def _severity_chosen(self, *_args) -> None:
        """The bridge is offered wherever the level runs a bridge clock, and cannot be left shut for SEV1."""
        level_id = self.severity.currentData()
        demanded = level_id in BRIDGE_ALWAYS
        has_clock = level_id is not None and self.ctx.sitrep.catalog.severity(level_id).bridge_within_min is not None
        self.bridge.setChecked(demanded or has_clock)
        self.bridge.setEnabled(not demanded)
        self.bridge.setToolTip("Required at this severity" if demanded else
                               "This level's bridge clock runs from the declaration" if has_clock else "")  # fmt: skip

    def _next(self) -> None:
        if self.walk is None or self.answer_group.checkedId() < 0:
            return
        self.walk.answer(self.answer_group.checkedId())
        self._show()

    def _back(self) -> None:
        if self.walk is not None:
            self.walk.back()
            self._show()

    def _record(self) -> None:
        ok, _ = run_action(self.ctx, self, self.ctx.sitrep.triage.record_outcome, self.group, self.walk,
                           author=self.ctx.author, success=f"Triage recorded: {self.walk.outcome.end}")  # fmt: skip
        if ok:
            self.accept()

    def _declare(self) -> None:
        ok, declared = run_action(
            self.ctx, self, self.ctx.sitrep.triage.declare_group, self.group, self.walk,
            title=self.title_edit.text(), author=self.ctx.author, severity=self.severity.currentData(),
            open_bridge=self.bridge.isChecked(),
        )  # fmt: skip
        if not ok:
            return
        self.declared = declared
        inc = declared.incident
        note = f"Declared {inc.key} at {inc.severity} with {self.group.size} alerts."
        if declared.bridge:
            note += f" Bridge open: {declared.bridge.url}"
        elif declared.bridge_problem:
            note += f" Bridge not opened: {declared.bridge_problem}"
        self.ctx.status_message(note, error=bool(declared.bridge_problem))
        self.ctx.open_incident(inc.id)
        self.accept()


class AlertQualityDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alert quality")
        self.setObjectName("alert-quality")
        view = QTextBrowser(self)
        ok, q = run_action(ctx, self, ctx.sitrep.alerts.quality)
        view.setHtml(quality_html(q) if ok else "<p>The report could not be read.</p>")
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(view, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(820, 560)


def quality_html(q) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(r.rule)}</td><td>{e(r.source)}</td><td align=right>{r.fired}</td><td align=right>{r.incidents}</td>"
        f"<td align=right>{r.noise}</td><td align=right>{'—' if r.false_positive_rate is None else f'{r.false_positive_rate:.0%}'}</td>"
        f"<td style='color:#d13438'>{e('; '.join(r.missing))}</td></tr>"
        for r in q.rules
    )  # fmt: skip
    gaps = "".join(f"<li>{e(s)}: {n} of {t} incident(s) found by people</li>" for s, n, t in q.detection_gaps)
    return (
        "<h3>Rules</h3><table cellpadding=3><tr><th align=left>Rule</th><th align=left>Source</th><th>Fired</th>"
        f"<th>Incidents</th><th>Noise</th><th>False positives</th><th align=left>Missing labels</th></tr>{rows}</table>"
        f"<h3>Detection gaps</h3><ul>{gaps or '<li>none</li>'}</ul>"
        f"<h3>Uncovered critical services</h3><p>{e(', '.join(q.uncovered) or 'none')}</p>"
    )  # fmt: skip


class AlertDetailDialog(QDialog):
    """One alert: where it came from, its labels and annotations, what the metadata standard missed, and its
    history (fired, resolved, acknowledged, muted, silenced, triaged)."""

    def __init__(self, ctx, alert, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alert: {alert.rule}")
        self.setObjectName("alert-detail")
        view = QTextBrowser(self)
        view.setOpenExternalLinks(True)
        ok, history = run_action(ctx, self, ctx.sitrep.alerts.history, alert.id)
        view.setHtml(alert_html(alert, history if ok else [], ctx.sitrep.alerts.standard.oncall_for(alert.service)))
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(view, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(720, 520)


def alert_html(a, history, oncall: str | None) -> str:
    e = html.escape
    facts = [("State", a.status_text + (" (fired during maintenance: critical, not muted)" if a.during_maintenance else "")),
             ("Severity", a.severity), ("Service", a.service or "—"), ("Environment", a.environment or "—"),
             ("Team", a.team or "—"), ("Routes to", oncall or "—"), ("Layer", a.layer or "—"),
             ("Started", viewer_time(a.starts_at)), ("Fired", f"{a.fire_count} time(s)"), ("Source", a.source),
             ("Fingerprint", a.fingerprint)]  # fmt: skip
    rows = "".join(f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>" for k, v in facts)
    link = ""
    if a.runbook_url and a.runbook_url.startswith(("https://", "http://")):
        link = f"<p>Runbook: <a href='{e(a.runbook_url, quote=True)}'>{e(a.runbook_url)}</a></p>"
    problems = f"<p style='color:#d13438'>Metadata: {e('; '.join(a.problems))}</p>" if a.problems else ""
    labels = "".join(f"<li>{e(k)} = {e(v)}</li>" for k, v in sorted(a.labels.items()))
    notes = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in sorted(a.annotations.items()))
    events = "".join(f"<li>{e(viewer_time(h.at))} {e(h.event)} {e(h.detail)}</li>" for h in history)
    return (f"<h3>{e(a.rule)}</h3><p>{e(a.summary)}</p><table cellpadding=2>{rows}</table>{link}{problems}"
            f"<h4>Labels</h4><ul>{labels}</ul><h4>Annotations</h4><ul>{notes or '<li>none</li>'}</ul>"
            f"<h4>History</h4><ul>{events}</ul>")  # fmt: skip
