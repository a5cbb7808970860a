"""The toolchain review (connected systems, success rates and last errors from the outbox, data moved by
hand, incidents missing the ticket or status page the rules expect) and the paper pack (a PDF whose
sections' text can be read back, and a record of the last print that notices changes)."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from models.entities import OutboxItem, RemoteLink
from resources import resource_path
from services.assurance.assessment import AssessmentService
from services.assurance.paper import build_pack, paper_status, record_print
from services.assurance.report import toolchain_markdown
from services.assurance.toolchain import review_toolchain
from services.comms.views import ContactInput
from services.core import Sitrep
from ui.printing import write_pdf


@pytest.fixture
def app(data_dir, clock):
    config = data_dir / "config"
    config.mkdir()
    s = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=config, now=clock)
    yield s
    s.close()


def test_the_review_reads_the_outbox_and_finds_what_moved_by_hand(app, data_dir, clock):
    app.people.add("Ana Ruiz", "ana", phone="+34 600 555 014")
    app.sync.configure("jira", {"enabled": True, "url": "https://jira.example.com", "email": "bot@example.com",
                                "project_key": "OPS"})  # fmt: skip
    linked = app.incidents.declare("Payments failing", "SEV1", author="ana")
    unlinked = app.incidents.declare("Search slow", "SEV2", author="ana")
    app.incidents.set_status(linked.key, "investigating", author="ana")
    app.comms.record_contact(unlinked.key, ContactInput("email", "customers", "Told Acme about the slowness",
                                                        recipients=["ops@acme.example"]), author="ana")  # fmt: skip
    app.comms.record_contact(unlinked.key, ContactInput("phone", "executives", "Called the CFO"), author="ana")
    # What the sync worker records once Jira has answered (its own tests cover how): two items sent, one
    # refused for good with the answer's text, the first with a remote link.
    with app.store.transaction() as s:
        items = list(s.query(OutboxItem).filter_by(backend="jira").order_by(OutboxItem.id))
        assert len(items) >= 3, "declaring planned Jira items through the real outbox writer"
        s.execute(update(OutboxItem).where(OutboxItem.id.in_([i.id for i in items[:2]])).values(state="sent", attempts=1))
        s.execute(update(OutboxItem).where(OutboxItem.id == items[1].id).values(attempts=3))
        s.execute(update(OutboxItem).where(OutboxItem.id == items[2].id).values(
            state="failed", attempts=5, last_error="HTTP 400: Field 'priority' is required", last_attempt_at=clock.value))
    with app.store.transaction() as s:
        s.add(RemoteLink(backend="jira", local_kind="incident", local_id=linked.id, incident_id=linked.id,
                         remote_kind="issue", remote_id="OPS-1", created_at=clock.value, updated_at=clock.value))
    clock.advance(hours=1)

    svc = AssessmentService(app, data_dir, data_dir / "config")
    review = review_toolchain(app, svc.book.toolchain, svc.book.period_days)
    jira = next(s for s in review.systems if s.backend == "jira")
    assert jira.state == "connected" and (jira.sent, jira.failed, jira.retried) == (2, 1, 1)
    assert jira.success_rate == pytest.approx(2 / 3)
    assert jira.last_error == "HTTP 400: Field 'priority' is required"
    assert next(s for s in review.systems if s.backend == "statuspage").state == "not configured"

    assert [(h.incident_key, h.way, h.could_use) for h in review.by_hand] == [
        (unlinked.key, "email", "E-mail (not connected)")]  # the phone call had no channel to go through
    missing = {(m.incident_key, m.missing) for m in review.missing}
    assert (unlinked.key, "ticket") in missing and (linked.key, "ticket") not in missing
    assert (linked.key, "status page") in missing  # SEV1 expects a status page; none is connected
    text = toolchain_markdown(review)
    assert "| Jira | connected | 2 | 1 | 1 |" in text and "67%" in text and "Field 'priority' is required" in text


def test_the_paper_pack_has_every_section_readable_and_dated(app, data_dir, clock, tmp_path):
    app.people.add("Ana Ruiz", "ana", email="ana@example.com", phone="+34 600 555 014", timezone="Europe/Madrid")
    app.comms.add_stakeholder("cfo", "Dana Whitfield (CFO)", "executives", phone="+44 20 5550 0101", severities=["SEV1"])
    app.comms.add_stakeholder("cardgate", "CardGate support", "vendor", phone="+1 800 555 0199",
                              email="support@cardgate.example")  # fmt: skip
    pack = build_pack(app, data_dir / "config", printed_by="ana")
    out = tmp_path / "pack.pdf"
    write_pdf(pack.html(), out, title="Incident response paper pack", landscape=False, banner=pack.banner)
    reader = PdfReader(str(out))
    pages = [_words(page.extract_text()) for page in reader.pages]
    text = "\n".join(pages)
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 595 and round(float(box.height)) == 842  # A4 portrait, in points
    for heading in ("1. Severity matrix", "2. Roles and their first-ten-minute checklists", "3. Escalation paths",
                    "4. Responders", "5. Stakeholders", "6. Vendors and suppliers", "7. Message templates",
                    "8. Regulatory deadlines"):  # fmt: skip
        assert heading in text, heading
    stamp = f"printed {clock.value:%Y-%m-%d %H:%M} UTC"
    assert all(stamp in page for page in pages), "every page carries the print date"
    for fact in ("+34 600 555 014", "Dana Whitfield (CFO)", "+1 800 555 0199", "Incident Commander",
                 "GDPR: notify the supervisory authority", "72 h after", "Approved by:", "[Incident key: ________]",
                 "NWC-2024-0117", "Northwind Cloud"):  # fmt: skip (the last two: the vendor register's contract)
        assert fact in text, fact


def test_the_last_print_is_remembered_and_a_change_makes_it_stale(app, data_dir, clock, tmp_path):
    config = data_dir / "config"
    assert paper_status(app, data_dir, config).printed_at is None
    pack = build_pack(app, config, printed_by="ana")
    record_print(data_dir, pack, tmp_path / "pack.pdf")
    status = paper_status(app, data_dir, config)
    assert not status.stale and status.path == str(tmp_path / "pack.pdf") and "up to date" in status.notice()

    clock.advance(days=2)
    app.people.add("Bob Chen", "bob", phone="+1 212 555 0187")
    (config / "severity.toml").write_text(_shipped("severity.toml").replace("Critical", "Critical!"), encoding="utf-8")
    status = paper_status(app, data_dir, config)
    assert status.stale and set(status.changed) == {"Responders", "Severity matrix", "Escalation paths"}
    assert "out of date: Severity matrix, Escalation paths, Responders changed since" in status.notice()

    record_print(data_dir, build_pack(app, config, printed_by="ana"), tmp_path / "pack2.pdf")
    assert not paper_status(app, data_dir, config).stale

    (config / "vendors.toml").write_text(_shipped("vendors.toml").replace("NWC-2024-0117", "NWC-2026-0001"),
                                         encoding="utf-8")  # fmt: skip
    assert list(paper_status(app, data_dir, config).changed) == ["Vendors"], "a new vendor contract makes the pack stale"


def _words(text: str) -> str:
    """The PDF's text as a reader sees it: the extractor gives tabs and line breaks for spaces, and the
    font's ligatures (ﬁ) as one character."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _shipped(name: str) -> str:
    return resource_path(name).read_text(encoding="utf-8")


def test_cli_assess_answer_report_and_paper(run_cli, data_dir, tmp_path):
    code, out, err = run_cli("--as", "ana", "assess", "answer", "sre-pm-shared", "partly", "Reading club since May")
    assert code == 0 and "recorded by ana" in out
    code, out, err = run_cli("--as", "ana", "assess", "report", "-o", str(tmp_path / "a.md"))
    assert code == 0, err
    md = (tmp_path / "a.md").read_text(encoding="utf-8")
    assert "## Maturity per area" in md and "sre-pm-shared" in md and "answered by ana" in md
    assert "## Toolchain interoperability review" in md
    code, out, err = run_cli("--as", "ana", "assess", "report", "-o", str(tmp_path / "a.pdf"))
    assert code == 0 and "Met" in "".join(p.extract_text() for p in PdfReader(str(tmp_path / "a.pdf")).pages)
    code, out, err = run_cli("assess", "report", "-o", str(tmp_path / "a.doc"))
    assert code != 0 and ".md, .html or .pdf" in err and "Traceback" not in err
    code, out, err = run_cli("paper")
    assert code == 1 and "No paper pack printed yet" in out
    code, out, err = run_cli("--as", "ana", "paper", "-o", str(tmp_path / "p.pdf"))
    assert code == 0 and (tmp_path / "p.pdf").stat().st_size > 10_000
    code, out, err = run_cli("paper")
    assert code == 0 and "is up to date" in out
    code, out, err = run_cli("toolchain", "review")
    assert code == 0 and "Data moving by hand" in out
    code, out, err = run_cli("--read-only", "assess", "run")
    assert code != 0 and "opened read-only" in err and "Traceback" not in err


def test_exercises_in_the_data_folder_count_as_practice(app, data_dir, clock):
    folder = data_dir / "exercises" / "20260301-0900-bad-release"
    folder.mkdir(parents=True)
    (folder / "sitrep.db").write_bytes(b"")
    held = (clock.value - timedelta(days=13)).isoformat()
    summary = {"title": "Bad release", "created_at": held, "ended_at": held}
    (folder / "exercise.json").write_text(json.dumps(summary), encoding="utf-8")
    result = AssessmentService(app, data_dir, data_dir / "config").evaluate(author="x")
    practice = next(p for p in result.practices if p.id == "id-im-02")
    assert practice.status == "met" and practice.evidence[0]["ref"] == "exercise 20260301-0900-bad-release"
