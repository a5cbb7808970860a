"""`sitrep metrics` and `sitrep import-history` through the real entry point."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from app.__main__ import main
from app.cli_metrics import EXIT_IMPORTED_WITH_WARNINGS

STATUSPAGE = Path(__file__).parent / "data" / "statuspage" / "incidents.json"
HISTORY = (
    "Ticket,What,Prio,Where,Start,Seen,Opened,Ack,Fixed,Closed,Users\n"
    "T-1,Checkout down,P1,checkout,2026-01-05 10:00,2026-01-05 10:04,2026-01-05 10:06,2026-01-05 10:07,"
    "2026-01-05 10:40,2026-01-05 11:00,5000\n"
    "T-2,Search slow,P3,search;checkout,2026-01-12 08:00,2026-01-12 08:20,2026-01-12 08:25,,"
    "2026-01-12 09:00,2026-01-12 12:00,\n"
    "T-3,Bad row,P9,search,2026-01-13 08:00,,2026-01-13 08:10,,,,\n"
    "T-4,Auth errors,P2,auth,2026-02-02 14:00,2026-02-02 14:01,2026-02-02 14:03,2026-02-02 14:05,"
    "2026-02-02 14:30,,20000\n"
)
MAP_ARGS = [
    "--map", "ref=Ticket", "--map", "title=What", "--map", "severity=Prio", "--map", "services=Where",
    "--map", "impact_started=Start", "--map", "detected=Seen", "--map", "declared=Opened",
    "--map", "acknowledged=Ack", "--map", "mitigated=Fixed", "--map", "resolved=Closed",
    "--map", "affected_users=Users",
]  # fmt: skip


@pytest.fixture
def run(data_dir, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def imported(run, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY, encoding="utf-8")
    code, out, err = run(
        "import-history", str(path), *MAP_ARGS, "--tz", "Europe/Madrid", "--source", "tracker"
    )
    assert code == EXIT_IMPORTED_WITH_WARNINGS, (out, err)  # one row refused
    return out, err


def test_import_history_reports_progress_rows_and_problems(imported):
    out, err = imported
    assert out.splitlines()[0] == "Imported 3 incident(s) from history.csv (csv): INC-0001 … INC-0003"
    assert "reading: 4/4" in err and "writing: 3/3" in err
    assert "refused: history.csv, row 4: severity 'P9' is not one of SEV1" in err


def test_reimport_is_a_no_op_and_json_says_so(run, imported, tmp_path):
    code, out, _ = run("import-history", str(tmp_path / "history.csv"), *MAP_ARGS, "--tz", "Europe/Madrid",
                       "--source", "tracker", "--json")  # fmt: skip
    report = json.loads(out)
    assert code == EXIT_IMPORTED_WITH_WARNINGS and report["created"] == [] and report["unchanged"] == 3
    assert report["problems"] == [
        {"file": "history.csv", "row": "row 4", "reason": report["problems"][0]["reason"]}
    ]


def test_metrics_text_shows_definitions_figures_and_what_was_left_out(run, imported):
    code, out, _ = run("metrics", "--by", "service", "--metric", "ttr")
    assert code == 0
    assert "Time to resolve (TTR) = resolved − impact started, in minutes" in out
    assert "From the start of customer impact" in out
    lines = {
        line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ") and line.split()
    }
    assert lines["checkout"][:3] == ["checkout", "2", "2h"]  # 60 min and 240 min: mean 2h 30m
    assert "Left out: 1 incident(s)" in out and "INC-0003" in out and "no Resolved time" in out
    _, out, _ = run("metrics", "--metric", "ttr", "--metric", "tta")
    assert "Time to acknowledge (TTA)" in out and "Time to resolve (TTR)" in out


def test_metrics_json_carries_definitions_and_exclusions(run, imported):
    code, out, _ = run("metrics", "--by", "severity", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["by"] == "severity"
    ttr = next(m for m in doc["metrics"] if m["metric"]["id"] == "time_to_resolve")
    assert ttr["metric"]["formula"] == "resolved − impact started" and ttr["metric"]["unit"] == "minutes"
    assert {g["group"]: g["median"] for g in ttr["groups"]} == {"SEV1": 60.0, "SEV3": 240.0}
    assert ttr["excluded"] == [{"incident": "INC-0003", "incident_id": ttr["excluded"][0]["incident_id"],
                                "reason": "no Resolved time"}]  # fmt: skip
    impact = next(m for m in doc["metrics"] if m["metric"]["id"] == "customer_impact")
    assert impact["overall"]["count"] == 2
    assert impact["overall"]["max"] == pytest.approx(20000 * 30)


def test_metrics_csv_is_one_table_with_definitions(run, imported):
    code, out, _ = run("metrics", "--by", "month", "--metric", "time_to_mitigate", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [r["record"] for r in rows] == ["group", "group", "overall"]
    assert {r["group"]: r["median"] for r in rows} == {
        "2026-01": "50.000",
        "2026-02": "30.000",
        "all": "40.000",
    }
    assert all(r["formula"] == "mitigated − impact started" and r["description"] for r in rows)


def test_filters_and_exercises(run, imported, tmp_path):
    code, out, _ = run(
        "metrics", "--metric", "ttm", "--service", "CHECKOUT", "--since", "2026-01-10T00:00Z", "--json"
    )
    assert json.loads(out)["metrics"][0]["overall"]["count"] == 1
    drill = tmp_path / "drill.csv"
    drill.write_text("title,severity,declared,impact_started,mitigated,exercise\nDrill,SEV1,2026-01-20 10:05,"
                     "2026-01-20 10:00,2026-01-20 10:30,yes\n", encoding="utf-8")  # fmt: skip
    assert run("import-history", str(drill))[0] == 0
    _, out, _ = run("metrics", "--metric", "ttm", "--json")
    assert json.loads(out)["metrics"][0]["overall"]["count"] == 3
    _, out, _ = run("metrics", "--metric", "ttm", "--json", "--include-exercises")
    assert json.loads(out)["metrics"][0]["overall"]["count"] == 4


def test_definitions_listing(run):
    code, out, _ = run("metrics", "--definitions", "--json")
    defs = json.loads(out)
    assert code == 0 and [d["id"] for d in defs][:4] == [
        "time_to_detect", "time_to_acknowledge", "time_to_identify", "time_to_mitigate",
    ]  # fmt: skip
    _, out, _ = run("metrics", "--definitions")
    assert "customer_impact" in out and "user-minutes" in out


def test_mistakes_get_words_and_an_exit_code(run, tmp_path):
    code, _, err = run("metrics", "--metric", "mttr")  # ambiguous: repair, recovery, respond or resolve?
    assert code == 2 and "sitrep: error: Unknown metric 'mttr'" in err
    code, _, err = run("import-history", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err
    with pytest.raises(SystemExit):
        run("metrics", "--by", "team")


def test_statuspage_file_and_saved_mapping(run, tmp_path):
    code, out, _ = run("import-history", str(STATUSPAGE))
    # The page's backdated update and reopened incident have stage times out of order: imported, flagged.
    assert code == EXIT_IMPORTED_WITH_WARNINGS and "Imported 50 incident(s) from incidents.json (statuspage)" in out
    assert run("verify")[0] == 0
    csv_path = tmp_path / "h.csv"
    csv_path.write_text(HISTORY, encoding="utf-8")
    saved = tmp_path / "mapping.toml"
    run("import-history", str(csv_path), *MAP_ARGS, "--save-mapping", str(saved), "--dry-run")
    code, out, _ = run("import-history", str(csv_path), "--mapping", str(saved))
    assert code == EXIT_IMPORTED_WITH_WARNINGS and out.startswith("Imported 3 incident(s)")
