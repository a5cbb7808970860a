"""Runbook files: the shipped examples read, every problem is named with its line, git provenance."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.runbooks.document import read_runbook, read_runbook_text
from services.runbooks.library import SHIPPED_FOLDER, UNCOMMITTED, UNTRACKED, RunbookLibrary, provenance

GOOD = """---
title: Restart the worker
services: [checkout]
incident_types: [service_outage]
owner: platform
review_interval: 90d
version: 1
---

## 1. Look at the queue
kind: diagnostic
playbook: check.yml

## 2. Restart
kind: action
playbook: restart.yml
target: worker-1
destructive: yes
requires: [1]
"""


def test_the_shipped_examples_are_valid_and_cover_the_four_stories():
    listing = RunbookLibrary([]).listing()
    assert {item.path.stem for item in listing} == {
        "deploy-rollback", "database-failover", "feature-flag-kill-switch", "cache-flush"}  # fmt: skip
    assert all(item.problems == () for item in listing), [(i.path.name, i.problems) for i in listing]
    rollback = RunbookLibrary([]).find("deploy-rollback")
    assert [s.kind for s in rollback.steps] == ["manual", "diagnostic", "action", "decision", "manual"]
    assert rollback.steps[2].destructive and rollback.steps[2].requires == (2,)
    for step in (s for item in listing for s in item.runbook.steps if s.playbook):
        assert (SHIPPED_FOLDER / step.playbook).is_file(), step.playbook


def test_suggestions_follow_the_incident_services_and_type():
    library = RunbookLibrary([])
    names = [rb.slug for rb in library.suggestions(["checkout"], "service_outage")]
    assert names[0] in ("cache-flush", "deploy-rollback") and "deploy-rollback" in names
    assert names[-1] == "feature-flag-kill-switch"  # applies to any service: after the exact matches
    assert "database-failover" not in names
    assert [rb.slug for rb in library.suggestions(["checkout"], "data_breach")] == []


def test_a_good_file_reads(tmp_path: Path):
    path = tmp_path / "restart.md"
    path.write_text(GOOD)
    runbook, problems = read_runbook(path)
    assert problems == []
    assert runbook.steps[1].target == "worker-1" and runbook.review_interval.days == 90


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("version: 1\n", ""), 1, "no 'version'"),
        (("review_interval: 90d", "review_interval: often"), 6, "not an interval"),
        (("services: [checkout]", "services: []"), 3, "is empty"),
        (("owner: platform\n", "owner: platform\ncolour: red\n"), 6, "unknown header key 'colour'"),
        (("## 2. Restart", "## 3. Restart"), 14, "numbered 3, expected 2"),
        (("kind: diagnostic\nplaybook: check.yml", "kind: diagnostic"), 10, "needs a 'playbook:'"),
        (("kind: action\n", "kind: acton\n"), 15, "'acton' is not one of"),
        (("destructive: yes", "destructive: maybe"), 18, "yes or no"),
        (("target: worker-1\n", ""), 14, "name its 'target:'"),
        (("requires: [1]", "requires: [2]"), 14, "not an earlier step"),
    ],
)
def test_every_problem_names_its_line(tmp_path: Path, change, line, words):
    old, new = change
    assert old in GOOD
    _, problems = read_runbook_text(tmp_path / "x.md", GOOD.replace(old, new))
    assert any(p.line == line and words in p.message for p in problems), problems


def test_no_header_and_no_steps_are_named(tmp_path: Path):
    _, problems = read_runbook_text(tmp_path / "x.md", "# Just notes\n\nDo things.\n")
    assert problems[0].line == 1 and "front-matter" in problems[0].message
    bad = tmp_path / "bin.md"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in read_runbook(bad)[1][0].message


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


def test_git_provenance_records_commit_blob_and_uncommitted_changes(tmp_path: Path):
    repo = tmp_path / "infra"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "ops@example.com")
    _git(repo, "config", "user.name", "Ops")
    path = repo / "restart.md"
    path.write_text(GOOD)
    assert provenance(path).state == UNTRACKED
    _git(repo, "add", "restart.md")
    _git(repo, "commit", "-qm", "runbook")
    head = _git(repo, "rev-parse", "HEAD").strip()
    blob = _git(repo, "rev-parse", "HEAD:restart.md").strip()
    clean = provenance(path)
    assert (clean.commit, clean.blob, clean.state) == (head, blob, "committed")
    path.write_text(GOOD.replace("Restart", "Restart gently"))
    dirty = provenance(path)
    assert dirty.commit == head and dirty.blob != blob and dirty.state == UNCOMMITTED
    assert "uncommitted changes" in dirty.short
    outside = tmp_path / "loose.md"
    outside.write_text(GOOD)
    assert provenance(outside).commit is None and provenance(outside).blob == blob
