"""Issue 14's "done when", headless: the demo SEV1 resolved, its review through to Closed, the meeting
invitation on a real SMTP server, three action items in the Jira fake and one back from it, the archive
verified in a fresh data folder."""

from __future__ import annotations

import zipfile
from datetime import timedelta

import pytest
import vobject

from models.enums import Milestone, Status
from services.demo import seed_demo
from services.errors import InvalidTransition
from services.review.archive import build_archive, verify_archive
from tests.fakes import jira as fj
from ui.printing import write_pdf

IC = "sam.okafor"


def _pdf(page, path, title):
    write_pdf(page, path, title=title, landscape=False)


def _drain(app, *, pull=False):
    report = app.sync.drain_once(pull=pull, max_wait_s=5)
    return report


def test_demo_sev1_review_from_resolve_to_archive(wired, fake_jira, smtp, clock, tmp_path):
    app = wired
    sev1 = seed_demo(app)
    _drain(app)
    ticket = app.sync.links(sev1.id)
    assert any(link.remote_kind == "issue" for link in ticket)

    # Resolving opens the review with the 48-hour meeting clock and the publication clock.
    # The demo SEV1 touches payments-db-eu, whose replica-consistency checklist gates Resolved (issue 16):
    # the commander goes past it with a reason, as the console's status dialog lets them.
    resolved = app.incidents.set_status(sev1.key, Status.RESOLVED, author=IC,
                                        override_reason="replicas checked on the bridge; write-up follows")
    review = app.reviews.get(sev1.key)
    at = resolved.milestones[Milestone.RESOLVED]
    assert review.status == "draft"
    assert "severity" in review.triggers
    assert review.meeting_due_at == at + timedelta(hours=48)
    clocks = {c.id: c for c in app.clocks.clocks(app.incidents.get(sev1.key))}
    assert clocks["review_meeting"].state(clock()) == "running"
    assert clocks["review_published"].due_at > review.meeting_due_at

    # The draft is filled from the record; people write the rest; the lint flags a planted "human error".
    doc = app.reviews.markdown(sev1.key)
    for expected in ("Severity history", "Ana Ruiz", "**DECISION**", "**ASSUMPTION**", "TTD", "Communications sent",
                     "Commander named"):  # fmt: skip
        assert expected in doc, expected
    app.reviews.write_section(sev1.key, "summary", "Card payments failed for EU customers for 57 minutes after the "
                              "payments-api 4.12 rollout; rolling back restored them.", author=IC)  # fmt: skip
    app.reviews.write_section(sev1.key, "impact", "1,890 customers saw failed card payments; 0.4 % of all requests "
                              "failed; no data was lost.", author=IC)  # fmt: skip
    app.reviews.write_section(sev1.key, "fault", "The rollout was a human error.", author=IC)
    app.reviews.add_factor(sev1.key, "The 4.12 connection pool default halved gateway connections", author=IC)
    app.reviews.add_factor(sev1.key, "EU rollouts have no canary stage that watches the card error rate",
                           kind="systemic", whys=["The canary stage was never extended to EU"], author=IC)  # fmt: skip
    flagged = app.reviews.lint(sev1.key)
    assert any(f.rule == "blame" and "human error" in f.sentence for f in flagged)
    app.reviews.write_section(sev1.key, "fault", "The 4.12 pool default halved the gateway connections.", author=IC)
    assert not [f for f in app.reviews.lint(sev1.key) if f.rule == "blame"]

    # A re-fill never overwrites what people wrote; a Markdown round trip changes only what was edited.
    exported = app.reviews.markdown(sev1.key, editable=True)
    edited = exported.replace("no data was lost.", "no data was lost; 212 support tickets.")
    assert app.reviews.import_markdown(sev1.key, edited, author=IC) == ["impact"]
    assert app.reviews.import_markdown(sev1.key, edited, author=IC) == []

    # Three action items reach Jira as three issues linked to the incident's ticket, exactly once.
    for p in ("jonas.weber", "priya.nair", "ana.ruiz"):
        fake_jira.add_user(f"{p}@example.com", p)
    items = [
        app.action_items.add(sev1.key, "Add a canary stage for EU rollouts watching card errors", category="prevent",
                             priority="P1", owner="jonas.weber", due_on="2026-04-01", author=IC),
        app.action_items.add(sev1.key, "Alert on card authorisation failures per region", category="detect",
                             owner="priya.nair", due_on="2026-03-28", author=IC),
        app.action_items.add(sev1.key, "Document the gateway connection pool limits", category="process",
                             priority="P3", owner="ana.ruiz", due_on="2026-04-15", author=IC),
    ]  # fmt: skip
    _drain(app)
    _drain(app)
    action_issues = {k: i for k, i in fake_jira.issues.items() if "sitrep-action" in i["fields"]["labels"]}
    assert len(action_issues) == 3
    incident_key = next(link.remote_id for link in app.sync.links(sev1.id) if link.remote_kind == "issue")
    assert {(t, inward) for t, inward, _o in fake_jira.links} == {("Relates", incident_key)}
    assert {o for _t, _i, o in fake_jira.links} == set(action_issues)
    assigned = {i["fields"]["assignee"]["emailAddress"] for i in action_issues.values()}
    assert assigned == {"jonas.weber@example.com", "priya.nair@example.com", "ana.ruiz@example.com"}
    assert {i["fields"]["duedate"] for i in action_issues.values()} == {"2026-04-01", "2026-03-28", "2026-04-15"}
    tracked = {a.key: a.tracking_url for a in app.action_items.for_incident(sev1.id)}
    assert all(url and "/browse/OPS-" in url for url in tracked.values())

    # One is closed in Jira and comes back closed through the pull, and is not sent back.
    detect_issue = next(k for k, i in action_issues.items() if items[1].key in i["fields"]["summary"])
    fake_jira.move(detect_issue, "Done")
    posts_before = fake_jira.count("POST", r"/transitions$")
    _drain(app, pull=True)
    assert app.action_items.get(items[1].key).status == "done"
    _drain(app, pull=True)
    assert fake_jira.count("POST", r"/transitions$") == posts_before
    assert len([i for i in fake_jira.issues.values() if "sitrep-action" in i["fields"]["labels"]]) == 3

    # The meeting: circulated first, scheduled 30 h later with role holders, the invitation sent once.
    app.reviews.set_status(sev1.key, "in_review", author=IC)
    meeting = clock() + timedelta(hours=30)
    app.reviews.schedule(sev1.key, meeting, ["sam.okafor", "ana.ruiz", "jonas.weber", "mei.lin"], author=IC)
    app.reviews.send_invitation(sev1.key, author=IC, organizer=("Sam Okafor", "sam.okafor@example.com"))
    _drain(app)
    _drain(app)
    mails = smtp.mailbox.messages()
    assert len(mails) == 1
    calendar_part = next(p for p in mails[0].walk() if p.get_content_type() == "text/calendar")
    cal = vobject.readOne(calendar_part.get_content())
    assert cal.method.value == "REQUEST"
    assert cal.vevent.dtstart.value == meeting.replace(microsecond=0)
    assert "Confirm the timeline" in cal.vevent.description.value
    invited = {a.value.lower() for a in cal.vevent.attendee_list}
    assert "mailto:mei.lin@example.com" in invited and len(invited) == 4
    assert set(mails[0]["To"].addresses[i].addr_spec for i in range(4)) >= {"ana.ruiz@example.com"}

    clock.advance(hours=30)
    for handle, how in (("sam.okafor", "present"), ("ana.ruiz", "present"), ("jonas.weber", "present"),
                        ("mei.lin", "apologies")):  # fmt: skip
        app.reviews.attend(sev1.key, handle, how, author=IC)
    # Reviewed is gated by the checklist until the reviewer ticks what only a person can tell.
    with pytest.raises(InvalidTransition, match="Facts separated from fixes"):
        app.reviews.set_status(sev1.key, "reviewed", author=IC)
    for item in ("facts_vs_fixes", "tone", "shared"):
        app.reviews.tick(sev1.key, item, True, author=IC)
    assert all(c.met for c in app.reviews.checklist(sev1.key)), app.reviews.checklist(sev1.key)
    app.reviews.set_status(sev1.key, "reviewed", author=IC)
    app.reviews.set_status(sev1.key, "closed", author=IC)
    closed = app.incidents.get(sev1.key)
    assert closed.status is Status.CLOSED and closed.milestones[Milestone.CLOSED] is not None

    # The archive: export, report (Markdown, HTML, PDF), stakeholder log, manifest; verified elsewhere.
    evidence = tmp_path / "grafana-checkout.png"
    evidence.write_bytes(b"\x89PNG fake graph bytes")
    archive = tmp_path / "INC.zip"
    with pytest.raises(InvalidTransition):
        app.reviews.add_evidence(sev1.key, author=IC, file=evidence)  # closed: no more changes
    manifest = build_archive(app, sev1.key, archive, pdf_writer=_pdf)
    names = {f["name"] for f in manifest["files"]}
    assert {"export.json", "review.md", "review.html", "review.pdf", "stakeholder-log.csv"} <= names
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    check = verify_archive(archive, fresh)
    assert check.ok, check.problems

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, data.replace(b"57 minutes", b"5 minutes") if info.filename == "review.md" else data)
    (tmp_path / "fresh2").mkdir()
    bad = verify_archive(tampered, tmp_path / "fresh2")
    assert not bad.ok and any("review.md" in p for p in bad.problems)
    assert fj.PROJECT == "OPS"
