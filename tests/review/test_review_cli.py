"""`sitrep review`, `sitrep actions` and `sitrep archive` as a person types them: a SEV1 resolved, its draft
written in an editor and re-imported, the lint, the checklist refusing then an override, action items by
owner and overdue, an attachment whose bytes change caught by `sitrep verify`, the archive verified in a
fresh data folder."""

from __future__ import annotations

import json
from pathlib import Path


def _setup(run_cli) -> None:
    for argv in (("people", "add", "Ana Ruiz", "ana", "--email", "ana@example.com", "--tz", "Europe/Madrid"),
                 ("people", "add", "Bob Chen", "bob", "--email", "bob@example.com", "--tz", "America/New_York"),
                 ("declare", "Checkout down", "-s", "1", "--service", "checkout"),
                 ("role", "assign", "INC-0001", "ic", "ana"),
                 ("status", "INC-0001", "investigating"),
                 ("status", "INC-0001", "resolved")):  # fmt: skip
        code, _out, err = run_cli("--as", "ana", *argv)
        assert code == 0, (argv, err)


def test_review_from_the_command_line(run_cli, data_dir, tmp_path):
    _setup(run_cli)
    code, out, _ = run_cli("review", "show", "INC-0001")
    assert code == 0 and "post-incident review, Draft" in out and "Review" in out and "due" in out

    # The draft in any editor and back: only the written parts are read.
    draft = tmp_path / "draft.md"
    assert run_cli("review", "fill", "INC-0001", "-o", str(draft))[0] == 0
    text = draft.read_text(encoding="utf-8")
    assert "## 9. Contributing factors" in text and "<!-- sitrep:write summary" in text
    text = text.replace("<!-- sitrep:end summary -->", "Checkout was down for 20 minutes.\n<!-- sitrep:end summary -->")
    text = text.replace("<!-- sitrep:end factors -->", "- [proximate] A config push removed the route\n"
                        "- [systemic] Config pushes skip the canary\n  - why: the canary covers code only\n"
                        "<!-- sitrep:end factors -->")  # fmt: skip
    text = text.replace("<!-- sitrep:end fault -->", "Bob should have checked the route.\n<!-- sitrep:end fault -->")
    draft.write_text(text, encoding="utf-8")
    code, out, _ = run_cli("--as", "ana", "review", "import", "INC-0001", str(draft))
    assert code == 0 and out.strip() == "Changed: summary, fault, factors"
    assert run_cli("--as", "ana", "review", "import", "INC-0001", str(draft))[1].strip() == "Nothing changed."

    code, out, _ = run_cli("review", "lint", "INC-0001", "--json")
    rules = {(f["section"], f["rule"]) for f in json.loads(out)}
    assert ("fault", "blame") in rules and ("fault", "name") in rules

    # Reviewed is refused while the checklist is unmet; an override needs its reason.
    code, _out, err = run_cli("--as", "ana", "review", "status", "INC-0001", "in_review")
    assert code == 0
    code, _out, err = run_cli("--as", "ana", "review", "status", "INC-0001", "reviewed")
    assert code != 0 and "Impact fully quantified" in err
    code, out, _ = run_cli("--as", "ana", "review", "status", "INC-0001", "reviewed", "--override", "small team")
    assert code == 0 and "Reviewed" in out

    # Action items: overdue, by owner, as JSON.
    assert run_cli("--as", "ana", "actions", "add", "INC-0001", "Add a canary for config pushes",
                   "--category", "prevent", "--owner", "bob", "--due", "2020-01-01")[0] == 0  # fmt: skip
    assert run_cli("--as", "ana", "actions", "add", "INC-0001", "Alert on route 404s", "--category", "detect",
                   "--owner", "ana", "--due", "2999-01-01")[0] == 0  # fmt: skip
    code, _out, err = run_cli("--as", "ana", "actions", "add", "INC-0001", "The alerting", "--category", "detect")
    assert code != 0 and "does not start with a verb" in err
    overdue = json.loads(run_cli("actions", "list", "--overdue", "--json")[1])
    assert [(a["key"], a["owner"], a["overdue"]) for a in overdue] == [("ACT-0001", "bob", True)]
    assert [a["key"] for a in json.loads(run_cli("actions", "list", "--owner", "ana", "--json")[1])] == ["ACT-0002"]
    assert run_cli("--as", "bob", "actions", "update", "ACT-0001", "--status", "done")[0] == 0
    stats = json.loads(run_cli("actions", "stats", "--json")[1])
    assert (stats["done"], stats["open"], stats["completion_rate"]) == (1, 1, 0.5)

    # Evidence kept by sha256; changed bytes are a broken verify.
    graph = tmp_path / "graph.png"
    graph.write_bytes(b"graph bytes")
    assert run_cli("--as", "ana", "review", "evidence", "INC-0001", "--file", str(graph))[0] == 0
    assert run_cli("verify")[0] == 0

    # The report and the archive, verified in a fresh data folder.
    pdf = tmp_path / "review.pdf"
    assert run_cli("review", "export", "INC-0001", "--format", "pdf", "-o", str(pdf))[0] == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    archive = tmp_path / "INC-0001.zip"
    code, out, _ = run_cli("archive", "INC-0001", "-o", str(archive))
    assert code == 0 and archive.is_file()
    fresh = tmp_path / "fresh"
    code, out, err = run_cli("archive", "verify", str(archive), data=fresh)
    assert code == 0, err
    assert "files match the manifest" in out

    unpacked = tmp_path / "unpacked"
    code, out, err = run_cli("archive", "unpack", str(archive), "-o", str(unpacked), data=tmp_path / "elsewhere")
    assert code == 0, err
    code, out, _ = run_cli("--read-only", "review", "show", "INC-0001", data=unpacked)
    assert code == 0 and "Reviewed" in out
    assert run_cli("--read-only", "verify", data=unpacked)[0] == 0

    kept = next((data_dir / "attachments").iterdir())
    kept.write_bytes(b"other bytes")
    code, _out, err = run_cli("verify")
    assert code == 6 and "graph.png" in err and "changed" in err
    assert Path(archive).stat().st_size > 0
