"""Importing incident histories: CSV with a mapping, Statuspage incidents.json, Sitrep exports."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.entities import Incident, TimelineEntry
from models.enums import EntryKind, Milestone, Status
from services.analytics.history_import import ColumnMapping, parse_history_time, zone
from services.analytics.metrics import MetricFilter
from services.errors import ImportFailure, ValidationError

DATA = Path(__file__).parent / "data"
STATUSPAGE = DATA / "statuspage" / "incidents.json"
UTC_ZONE = zone("UTC")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def count(app, table=Incident) -> int:
    with app.store.read() as s:
        return s.scalar(select(func.count()).select_from(table))


JIRA_CSV = """Issue key,Summary,Priority,Components,Impact start,Created,Resolved,Users,Drill
OPS-101,Checkout errors after deploy,Highest,checkout; payments,14/02/2026 09:58,14/02/2026 10:05,14/02/2026 11:40,1200,no
OPS-102,Search slow,Medium,search,15/02/2026 22:10,15/02/2026 22:31,16/02/2026 01:02,,no
OPS-103,Tabletop: region loss,High,orders,01/03/2026 10:00,01/03/2026 10:02,01/03/2026 11:00,,yes
"""
JIRA_MAPPING = """source = "jira"
timezone = "Europe/Berlin"
date_formats = ["%d/%m/%Y %H:%M"]

[columns]
ref = "Issue key"
title = "Summary"
severity = "Priority"
services = "Components"
impact_started = "Impact start"
declared = "Created"
resolved = "Resolved"
affected_users = "Users"
exercise = "Drill"

[severity_values]
Highest = "SEV1"
High = "SEV2"
Medium = "SEV3"
"""


# -- CSV --------------------------------------------------------------------------------------------------
def test_csv_with_a_mapping_file_imports_with_zone_and_formats(sitrep, tmp_path):
    csv_path = write(tmp_path / "jira.csv", JIRA_CSV)
    mapping = ColumnMapping.from_file(write(tmp_path / "jira.toml", JIRA_MAPPING))
    report = sitrep.history.import_file(csv_path, author="ana", mapping=mapping)
    assert report.problems == [] and report.created == ["INC-0001", "INC-0002", "INC-0003"]
    first = sitrep.incidents.get("INC-0001")
    assert first.title == "Checkout errors after deploy"
    assert first.severity == "SEV1" and first.is_major
    assert first.services == ("checkout", "payments")
    assert first.source == "jira" and first.affected_users == 1200
    # 09:58 in Berlin in February is 08:58 UTC.
    assert first.milestone(Milestone.IMPACT_STARTED) == datetime(2026, 2, 14, 8, 58, tzinfo=UTC)
    assert first.milestone(Milestone.DECLARED) == datetime(2026, 2, 14, 9, 5, tzinfo=UTC)
    assert first.status is Status.RESOLVED
    assert sitrep.incidents.get("INC-0003").is_exercise
    with sitrep.store.read() as s:
        assert s.scalar(select(Incident.external_ref).where(Incident.key == "INC-0001")) == "jira:OPS-101"
    ttr = sitrep.metrics.table("ttr", "service")
    assert {g.group: g.stats.median for g in ttr.groups} == pytest.approx(
        {"checkout": 102, "payments": 102, "search": 172}
    )


def test_command_line_pairs_override_the_file(sitrep, tmp_path):
    csv_path = write(tmp_path / "jira.csv", JIRA_CSV.replace("Summary", "Headline"))
    mapping = ColumnMapping.from_file(write(tmp_path / "jira.toml", JIRA_MAPPING)).merged_with(
        ColumnMapping.from_pairs(["title=Headline", "type=Components"])
    )
    assert mapping.columns["title"] == "Headline"
    # "type=Components" maps incident types from a column holding service names: every row is refused.
    report = sitrep.history.import_file(csv_path, author="ana", mapping=mapping)
    assert report.created == []
    assert [p.row for p in report.problems] == ["row 2", "row 3", "row 4"]
    assert "incident type 'checkout; payments'" in report.problems[0].reason


def test_headers_named_like_the_fields_need_no_mapping(sitrep, tmp_path):
    path = write(
        tmp_path / "plain.csv",
        "title,severity,services,declared_at,mitigated_at,resolved_at,type\n"
        "API down,SEV2,api,2026-01-05T10:00:00Z,2026-01-05T10:20:00Z,2026-01-05T10:45:00Z,service_outage\n",
    )
    report = sitrep.history.import_file(path, author="ana")
    assert report.created == ["INC-0001"]
    inc = sitrep.incidents.get("INC-0001")
    assert inc.incident_type == "service_outage" and inc.status is Status.RESOLVED
    assert inc.source == "csv"


def test_bad_rows_are_reported_and_good_rows_still_import(sitrep, tmp_path):
    path = write(
        tmp_path / "mixed.csv",
        "title,severity,declared,detected,resolved,affected_users\n"
        "Good one,SEV3,2026-01-05 10:00,2026-01-05 09:50,2026-01-05 11:00,\n"
        ",SEV3,2026-01-05 10:00,,,\n"
        "Bad severity,SEV9,2026-01-05 10:00,,,\n"
        "Resolved before detected,SEV2,2026-01-05 10:00,2026-01-05 09:00,2026-01-05 08:00,\n"
        "Unreadable time,SEV2,yesterday-ish,,,\n"
        "Ambiguous,SEV2,03/04/2026 10:00,,,\n"
        "In the future,SEV2,2030-01-01 10:00,,,\n"
        "Users,SEV2,2026-01-05 10:00,,,many\n"
        "\n"
        'Another good one,4,2026-01-06T10:00:00+02:00,,,"1,500"\n',
    )
    report = sitrep.history.import_file(path, author="ana")
    # Resolved before detected is imported, its pairs flagged (judged per pair, not per row).
    assert report.created == ["INC-0001", "INC-0002", "INC-0003"]
    assert [(p.row, p.reason) for p in report.flagged] == [
        ("row 5", "Resolved (2026-01-05 08:00:00 UTC) is before Declared (2026-01-05 10:00:00 UTC); "
                  "Resolved (2026-01-05 08:00:00 UTC) is before Detected (2026-01-05 09:00:00 UTC)"),
    ]  # fmt: skip
    assert report.outcome == "imported with warnings"
    problems = {p.row: p.reason for p in report.problems}
    assert all(p.file == "mixed.csv" for p in report.problems)
    assert problems["row 3"] == "no title"
    assert problems["row 4"].startswith("severity 'SEV9' is not one of SEV1, SEV2")
    assert problems["row 6"].startswith("Declared (declared): 'yesterday-ish' is not a time I can read")
    assert "could be day/month or month/day" in problems["row 7"]
    assert "is in the future" in problems["row 8"]
    assert "'many' is not a whole number" in problems["row 9"]
    assert len(problems) == 6
    flagged = sitrep.incidents.get("INC-0002")
    assert flagged.flagged_pairs == (("declared", "resolved"), ("detected", "resolved"))
    second = sitrep.incidents.get("INC-0003")
    assert second.severity == "SEV4" and second.affected_users == 1500
    assert second.milestone(Milestone.DECLARED) == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)


def test_reimporting_the_same_file_changes_nothing(sitrep, tmp_path):
    path = write(
        tmp_path / "plain.csv", "title,severity,declared\nA,SEV3,2026-01-05 10:00\nB,SEV4,2026-01-05 11:00\n"
    )
    first = sitrep.history.import_file(path, author="ana")
    entries = count(sitrep, TimelineEntry)
    again = sitrep.history.import_file(path, author="bo")
    assert first.created == ["INC-0001", "INC-0002"]
    assert again.created == [] and again.unchanged == 2
    assert count(sitrep) == 2 and count(sitrep, TimelineEntry) == entries
    # A renamed copy is still the same rows.
    copy = shutil.copy(path, tmp_path / "renamed.csv")
    assert sitrep.history.import_file(copy, author="ana").unchanged == 2
    # A new row in the file adds just that row.
    write(path, path.read_text() + "C,SEV2,2026-01-07 09:00\n")
    assert sitrep.history.import_file(path, author="ana").created == ["INC-0003"]


def test_the_same_row_twice_in_one_file_is_reported(sitrep, tmp_path):
    path = write(
        tmp_path / "dup.csv",
        "ref,title,severity,declared\nX-1,A,SEV3,2026-01-05 10:00\nX-1,A again,SEV3,2026-01-05 10:00\n",
    )
    report = sitrep.history.import_file(path, author="ana")
    assert report.created == ["INC-0001"]
    assert report.problems[0].row == "row 3" and "the same incident as row 2" in report.problems[0].reason


def test_imported_timelines_verify_and_keep_growing(sitrep, tmp_path):
    sitrep.incidents.declare("Live one", "SEV2", author="ana")
    path = write(
        tmp_path / "h.csv",
        "title,severity,declared,mitigated,resolved\nOld,SEV2,2025-05-05 10:00,2025-05-05 10:30,2025-05-05 11:00\n",
    )
    report = sitrep.history.import_file(path, author="ana")
    assert report.created == ["INC-0002"]
    entries = sitrep.timeline.entries(sitrep.incidents.get("INC-0002").id)
    assert [e.kind for e in entries] == [EntryKind.STATUS_CHANGE, EntryKind.STATUS_CHANGE]
    assert entries[0].data["action"] == "declared" and entries[0].source == "import:csv"
    assert entries[0].occurred_at == datetime(2025, 5, 5, 10, 0, tzinfo=UTC)
    assert entries[1].body.startswith("Status changed: Declared → Resolved")
    assert entries[1].occurred_at == datetime(2025, 5, 5, 11, 0, tzinfo=UTC)
    assert "h.csv, row 2" in entries[0].body
    # The chain is the same one append_entry writes: a new entry continues it.
    sitrep.timeline.log(entries[0].incident_id, "Found in the old tracker", author="bo")
    assert sitrep.integrity.verify().ok


def test_dry_run_writes_nothing(sitrep, tmp_path):
    path = write(tmp_path / "h.csv", "title,severity,declared\nA,SEV3,2026-01-05 10:00\n")
    report = sitrep.history.import_file(path, author="ana", dry_run=True)
    assert report.created == ["INC-0001"] and report.dry_run and not report.changed
    assert count(sitrep) == 0


@pytest.mark.parametrize(
    "text, mapping, fragment",
    [
        ("", None, "the file is empty"),
        ("title,severity\nA,SEV1\n", None, "no column holds a time"),
        ("severity,declared\nSEV1,2026-01-05 10:00\n", None, "say which column holds the title"),
        ("title,severity,declared\n", ["title=Headline"], "no column named title=Headline"),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing(sitrep, tmp_path, text, mapping, fragment):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ImportFailure) as err:
        sitrep.history.import_file(path, author="ana", mapping=ColumnMapping.from_pairs(mapping or []))
    assert fragment in err.value.message
    assert count(sitrep) == 0


def test_binary_and_missing_files_are_refused_in_words(sitrep, tmp_path):
    blob = tmp_path / "blob.csv"
    blob.write_bytes(b"\xff\xfe\x00title")
    with pytest.raises(ImportFailure, match="not UTF-8"):
        sitrep.history.import_file(blob, author="ana")
    with pytest.raises(ImportFailure, match="no such file"):
        sitrep.history.import_file(tmp_path / "nope.csv", author="ana")
    with pytest.raises(ImportFailure, match="cannot tell what this file is"):
        sitrep.history.import_file(write(tmp_path / "x.json", '{"hello": 1}'), author="ana")
    with pytest.raises(ImportFailure, match="not valid JSON"):
        sitrep.history.import_file(write(tmp_path / "y.json", "{"), author="ana")


def test_mapping_mistakes_are_reported_in_words(tmp_path):
    with pytest.raises(ValidationError, match="'colour' is not something a column can be mapped to"):
        ColumnMapping.from_pairs(["colour=Red"])
    with pytest.raises(ValidationError, match="is not FIELD=Column"):
        ColumnMapping.from_pairs(["title"])
    with pytest.raises(ImportFailure, match="not a readable mapping file"):
        ColumnMapping.from_file(write(tmp_path / "m.toml", "[columns\n"))
    with pytest.raises(ValidationError, match="Unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")


def test_a_saved_mapping_reads_back_the_same(tmp_path):
    mapping = ColumnMapping.from_file(write(tmp_path / "m.toml", JIRA_MAPPING)).merged_with(
        ColumnMapping.from_pairs(['summary=Long "quoted" text'])
    )
    again = ColumnMapping.from_file(write(tmp_path / "saved.toml", mapping.to_toml()))
    assert again == mapping


@pytest.mark.parametrize(
    "text, formats, expected",
    [
        ("2026-03-14T09:30:00Z", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("2026-03-14 09:30", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("2026-03-14T10:30:00+01:00", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("14 Mar 2026 09:30", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("Mar 14, 2026 9:30 AM", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("2026/03/14 09:30:15", (), datetime(2026, 3, 14, 9, 30, 15, tzinfo=UTC)),
        ("Sat, 14 Mar 2026 09:30:00 +0000", (), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("03/14/2026 09:30", ("%m/%d/%Y %H:%M",), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        ("14.03.2026 09:30", ("%d.%m.%Y %H:%M",), datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
    ],
)
def test_history_times_in_several_formats(text, formats, expected):
    assert parse_history_time(text, UTC_ZONE, formats) == expected


def test_naive_times_take_the_given_zone_across_daylight_saving():
    berlin = zone("Europe/Berlin")
    assert parse_history_time("2026-01-10 12:00", berlin) == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
    assert parse_history_time("2026-07-10 12:00", berlin) == datetime(2026, 7, 10, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="day/month or month/day"):
        parse_history_time("03/04/2026 10:00", berlin)


# -- Statuspage -------------------------------------------------------------------------------------------
def test_statuspage_history_imports_with_derived_milestones(sitrep):
    report = sitrep.history.import_file(STATUSPAGE, author="ana")
    assert report.format == "statuspage" and report.problems == [] and report.skipped == []
    assert len(report.created) == 50
    doc = json.loads(STATUSPAGE.read_text())
    by_name = {i["name"]: i for i in doc["incidents"]}
    incidents = {i.title: i for i in sitrep.incidents.list()}
    assert len(incidents) == len(by_name)

    # The postmortem one: critical, two components, every milestone from its updates.
    pm = next(i for i in doc["incidents"] if i["status"] == "postmortem")
    inc = incidents[pm["name"]]
    updates = sorted(pm["incident_updates"], key=lambda u: u["display_at"])
    t = lambda s: datetime.fromisoformat(s).astimezone(UTC)  # noqa: E731
    assert inc.severity == "SEV1" and inc.status is Status.CLOSED and inc.incident_type == "service_outage"
    assert inc.services == ("API", "SMTP Relay")
    assert inc.milestone(Milestone.DECLARED) == t(updates[0]["display_at"])
    assert inc.milestone(Milestone.IMPACT_STARTED) == t(pm["started_at"]) < t(updates[0]["display_at"])
    assert inc.milestone(Milestone.MITIGATED) == t(
        next(u for u in updates if u["status"] == "monitoring")["display_at"]
    )
    assert inc.milestone(Milestone.RESOLVED) == t(
        next(u for u in updates if u["status"] == "resolved")["display_at"]
    )
    assert inc.milestone(Milestone.CLOSED) == t(updates[-1]["display_at"])
    assert inc.milestone(Milestone.DETECTED) is None  # a public page does not say; nothing is made up
    entries = sitrep.timeline.entries(inc.id)
    assert len(entries) == len(updates)
    assert entries[0].data["action"] == "declared" and entries[0].source == "import:statuspage"
    assert [e.data["statuspage_update_id"] for e in entries] == [u["id"] for u in updates]
    assert entries[-1].body.startswith("Status changed: Resolved → Closed")

    # Reopened: mitigated at the first monitoring, resolved at the last resolution.
    reopened = next(
        i for i in doc["incidents"] if [u["status"] for u in i["incident_updates"]].count("resolved") == 2
    )
    r_updates = sorted(reopened["incident_updates"], key=lambda u: u["display_at"])
    inc = incidents[reopened["name"]]
    assert inc.milestone(Milestone.MITIGATED) == t(
        next(u for u in r_updates if u["status"] == "monitoring")["display_at"]
    )
    assert inc.milestone(Milestone.RESOLVED) == t(r_updates[-1]["display_at"])

    # No monitoring phase: impact taken to end at resolution (backdated resolution honoured).
    quick = next(
        i
        for i in doc["incidents"]
        if [u["status"] for u in i["incident_updates"]] == ["resolved", "investigating"]
    )
    inc = incidents[quick["name"]]
    resolved_update = quick["incident_updates"][0]
    assert resolved_update["display_at"] != resolved_update["created_at"]
    assert (
        inc.milestone(Milestone.MITIGATED)
        == inc.milestone(Milestone.RESOLVED)
        == t(resolved_update["display_at"])
    )

    # Still open: no mitigation, no resolution; services from components.
    open_one = next(i for i in doc["incidents"] if i["status"] == "identified")
    inc = incidents[open_one["name"]]
    assert inc.status is Status.IDENTIFIED and inc.milestone(Milestone.RESOLVED) is None
    assert inc.severity == "SEV3" and inc.incident_type == "degraded_performance"

    # Components empty: services from affected_components.
    bare = next(i for i in doc["incidents"] if not i["components"] and i["impact"] != "none")
    assert incidents[bare["name"]].services == ("Inbound Parse",)
    notice = next(i for i in doc["incidents"] if i["impact"] == "none")
    assert incidents[notice["name"]].severity == "SEV4" and incidents[notice["name"]].services == ()

    assert sitrep.integrity.verify().ok
    ttr = sitrep.metrics.table("time_to_resolve", "service")
    assert ttr.overall.count == 49 and [x.reason for x in ttr.excluded] == ["no Resolved time"]


def test_statuspage_reimport_changes_nothing_and_bad_incidents_are_reported(sitrep, tmp_path):
    doc = json.loads(STATUSPAGE.read_text())
    doc["incidents"] = doc["incidents"][:6]
    doc["incidents"][1]["impact"] = "catastrophic"
    doc["incidents"][2]["incident_updates"] = []
    doc["incidents"][3]["incident_updates"][0]["display_at"] = "soon"
    doc["incidents"].append({**doc["incidents"][4], "id": "maint0000001", "impact": "maintenance"})
    doc["incidents"].append("not an incident")
    path = write(tmp_path / "incidents.json", json.dumps(doc))
    report = sitrep.history.import_file(path, author="ana", format="statuspage")
    assert len(report.created) == 3
    reasons = {p.row: p.reason for p in report.problems}
    assert (
        reasons[f"incidents[1] ({doc['incidents'][1]['id']})"]
        == "impact 'catastrophic' is not one of none, minor, major, critical"
    )
    assert "no incident_updates" in reasons[f"incidents[2] ({doc['incidents'][2]['id']})"]
    assert "'soon' is not a time I can read" in reasons[f"incidents[3] ({doc['incidents'][3]['id']})"]
    assert reasons["incidents[7]"] == "expected an incident object"
    assert [p.reason for p in report.skipped] == ["scheduled maintenance, not an incident"]
    again = sitrep.history.import_file(path, author="ana", format="statuspage")
    assert again.created == [] and again.unchanged == 3


def test_statuspage_incidents_count_in_the_charts_like_any_other(sitrep):
    sitrep.history.import_file(STATUSPAGE, author="ana")
    points, _ = sitrep.metrics.points("time_to_mitigate", MetricFilter(services=("API",)))
    assert points and all(p.value > 0 for p in points)


# -- Sitrep's own export ----------------------------------------------------------------------------------
def test_a_sitrep_export_is_delegated_to_the_exchange(sitrep, clock, tmp_path, data_dir):
    from services.core import Sitrep

    sitrep.incidents.declare("Exported", "SEV2", author="ana", detected_at=clock() - timedelta(minutes=3))
    path = write(tmp_path / "export.json", json.dumps(sitrep.exchange.export()))
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = Sitrep.open(f"sqlite:///{other_dir / 'sitrep.db'}", now=clock)
    try:
        report = other.history.import_file(path, author="bo")
        assert report.format == "sitrep" and report.created == ["INC-0001"]
        assert other.history.import_file(path, author="bo").unchanged == 1
        assert other.integrity.verify().ok
    finally:
        other.close()


# -- the schema -------------------------------------------------------------------------------------------
def test_a_0001_database_is_upgraded_keeping_its_incidents(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect, text

    from models.migrations import MIGRATIONS_DIR, SCHEMA_HEAD
    from services.core import Sitrep

    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text(
            "INSERT INTO incidents (id, number, key, title, summary, incident_type, severity, status, is_major, "
            "is_exercise, services, source, created_at, updated_at, declared_at) VALUES ('i1', 1, 'INC-0001', "
            "'Old', '', 'other', 'SEV3', 'resolved', 0, 0, '[]', 'local', '2025-01-01T00:00:00.000000Z', "
            "'2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')"
        ))  # fmt: skip
    engine.dispose()
    app = Sitrep.open(f"sqlite:///{db}", backups_dir=tmp_path / "backups")
    try:
        assert app.store.schema_revision() == SCHEMA_HEAD
        assert app.store.last_backup is not None and app.store.last_backup.exists()
        assert app.incidents.get("INC-0001").title == "Old"
        with app.store.read_connection() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("incidents")}
        assert "external_ref" in columns
    finally:
        app.close()


def test_the_migrations_match_the_models(sitrep):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.entities import Base

    with sitrep.store.read_connection() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_write_the_store_refuses_is_reported_and_nothing_is_imported(sitrep, tmp_path):
    import sqlite3

    from services.analytics.sample_history import generate, write_csv
    from services.errors import StoreError

    # A rule in the database itself (as a damaged or foreign schema might have) rejects the timeline rows.
    raw = sqlite3.connect(sitrep.store.path)
    with raw:
        raw.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON timeline_entries BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    raw.close()
    csv_path = write_csv(generate(20, seed=3), tmp_path / "history.csv")
    with pytest.raises(StoreError, match="conflicts with what is stored") as caught:
        sitrep.history.import_file(csv_path, author="ana")
    assert "Traceback" not in str(caught.value)
    assert count(sitrep) == 0 and count(sitrep, TimelineEntry) == 0


def test_an_imported_incident_has_no_clocks_to_breach(sitrep, tmp_path, clock):
    """It was run elsewhere, long ago: no bridge or commander milestone was ever recorded here, so its
    clocks would all read "breached" and a check would write breach entries into history."""
    path = write(
        tmp_path / "plain.csv",
        "title,severity,services,declared_at,mitigated_at,resolved_at,type\n"
        "API down,SEV1,api,2026-01-05T10:00:00Z,2026-01-05T10:20:00Z,2026-01-05T10:45:00Z,service_outage\n",
    )
    sitrep.history.import_file(path, author="ana")
    inc = sitrep.incidents.get("INC-0001")
    before = sitrep.timeline.count(inc.id)
    assert sitrep.clocks.clocks(inc) == []
    assert sitrep.clocks.check(inc.id) == []
    assert sitrep.timeline.count(inc.id) == before
    # An incident declared here still has its clocks.
    live = sitrep.incidents.declare("Checkout down", "SEV1", author="ic")
    assert {c.id for c in sitrep.clocks.clocks(live)} == {"bridge", "commander", "next_update"}
