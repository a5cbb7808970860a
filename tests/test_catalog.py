"""The severity matrix and role catalog, as shipped and as an organisation overrides them."""

from __future__ import annotations

import pytest

from services.errors import NotFound, ValidationError
from services.record.catalog import Catalog


def test_the_shipped_matrix_and_catalog():
    catalog = Catalog()
    assert list(catalog.severities) == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert [lv.rank for lv in catalog.severities.values()] == [1, 2, 3, 4, 5]
    assert [lv.major for lv in catalog.severities.values()] == [True, True, False, False, False]
    sev1 = catalog.severity("sev1")
    assert (sev1.bridge_within_min, sev1.commander_within_min, sev1.first_external_update_min) == (5, 5, 10)
    assert "Bridge open within 5 min of declaration" in sev1.obligations()
    assert all(lv.description and lv.criteria for lv in catalog.severities.values())
    for role in ("IC", "DEPUTY", "COMMS", "TECH", "SCRIBE", "SME", "LIAISON"):
        assert catalog.roles[role].checklist, f"{role} has a first-10-minutes checklist"
    assert catalog.role("comms").id == "COMMS" and catalog.role("Scribe").id == "SCRIBE"
    with pytest.raises(NotFound, match="Unknown role 'Janitor'"):
        catalog.role("Janitor")


def test_an_organisation_can_replace_the_matrix(tmp_path):
    (tmp_path / "severity.toml").write_text(
        '[[level]]\nid = "P1"\nlabel = "Page"\nmajor = true\ndescription = "Down"\ncriteria = ["down"]\n'
        "bridge_within_min = 2\n",
        encoding="utf-8",
    )
    catalog = Catalog(tmp_path)
    assert list(catalog.severities) == ["P1"] and catalog.severity("p1").bridge_within_min == 2
    assert "IC" in catalog.roles, "the role catalog was not overridden, so the shipped one stays"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[[level]\nid = ", "cannot be read"),
        ('[[level]]\nid = "P1"\n', "malformed"),
        ('[[level]]\nid = "P1"\nlabel = "x"\nmajor = true\ndescription = "x"\ncolour = "red"\n', "malformed"),
        ("title = 'no levels'\n", "malformed"),
        ("level = []\n", "at least one"),
    ],
)
def test_a_broken_override_is_a_clear_error(tmp_path, content, words):
    (tmp_path / "severity.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match=words):
        Catalog(tmp_path)


def test_the_command_line_reports_a_broken_override_in_one_line(run_cli, data_dir):
    (data_dir / "config").mkdir()
    (data_dir / "config" / "roles.toml").write_bytes(b"\xff\xfe not text")
    code, out, err = run_cli("list")
    assert code == 2 and out == ""
    assert err.startswith("sitrep: error: ") and "roles.toml cannot be read" in err
    assert err.count("\n") == 1 and "Traceback" not in err
