"""Templates: the built-ins load, user templates override and add, broken ones are named with their line,
the sandbox holds, values stay data, and each channel's rendering is escaped and checked."""

from __future__ import annotations

import pytest

from services.adapters.discovery import discover_adapters
from services.adapters.email import email_rendering
from services.adapters.slack import slack_rendering
from services.comms.templates import TemplateLibrary
from services.errors import ValidationError

CHANNELS = tuple(discover_adapters().channels())


def check_limits(rendered, recipients):
    return TemplateLibrary().check_limits(rendered, recipients)

BUILTINS = {
    "declaration", "initial", "status_update", "scoping_update", "mitigation", "resolution", "executive_summary",
    "customer_email", "statuspage_update", "regulator_notice", "vendor_escalation", "handover_note",
    "post_incident_email", "media_holding_statement",
}  # fmt: skip


def test_every_builtin_template_loads_and_declares_audience_channels_and_required_fields():
    lib = TemplateLibrary()
    assert lib.problems == []
    assert set(lib.templates) == BUILTINS
    for tpl in lib.templates.values():
        assert tpl.audience and tpl.channels and set(tpl.channels) <= set(CHANNELS)
        assert tpl.required, tpl.id
        assert all(r in lib.prefilled or r in {f.name for f in tpl.fields} for r in tpl.required)


def _user_template(folder, name, text):
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / name).write_text(text, encoding="utf-8")


HEADER = '{#\nname = "T"\naudience = "responders"\nchannels = ["slack"]\nrequired = ["title"]\n#}\n'


def test_user_templates_override_and_add_and_broken_ones_are_named_with_their_line(tmp_path):
    _user_template(
        tmp_path,
        "initial.j2",
        HEADER + "{% block subject %}Mine: {{ title }}{% endblock %}\n{% block body %}x{% endblock %}\n",
    )
    _user_template(
        tmp_path,
        "extra.j2",
        HEADER + "{% block subject %}{{ title }}{% endblock %}{% block body %}y{% endblock %}",
    )
    _user_template(tmp_path, "broken.j2", HEADER + "{% block subject %}{{ title }{% endblock %}\n")
    _user_template(
        tmp_path,
        "unknown.j2",
        HEADER
        + "{% block subject %}ok{% endblock %}\n{% block body %}\n\n{{ customer_mood }}{% endblock %}\n",
    )
    lib = TemplateLibrary(tmp_path)
    assert lib.templates["initial"].origin == "user" and lib.templates["initial"].name == "T"
    assert "extra" in lib.templates and "broken" not in lib.templates and "unknown" not in lib.templates
    assert set(lib.templates) >= BUILTINS
    problems = {p.template: p for p in lib.problems}
    assert problems["broken.j2"].line == 7
    assert problems["unknown.j2"].line == 10 and "customer_mood" in problems["unknown.j2"].message
    assert str(problems["unknown.j2"]).startswith(
        "unknown.j2, line 10: uses the unknown field 'customer_mood'"
    )


def test_a_template_that_reaches_for_python_internals_stays_in_the_sandbox(tmp_path):
    _user_template(tmp_path, "evil.j2", HEADER + "{% block subject %}x{% endblock %}\n{% block body %}\n"
                   "{{ title.__class__.__mro__[1].__subclasses__() }}{% endblock %}\n")  # fmt: skip
    lib = TemplateLibrary(tmp_path)
    tpl = lib.get("evil")
    with pytest.raises(ValidationError) as err:
        lib.render(tpl, {"title": "t"}, ["slack"])
    assert "evil.j2" in err.value.message and "line 9" in err.value.message


def test_field_values_are_data_never_templates_and_are_escaped_per_channel():
    lib = TemplateLibrary()
    values = {"symptom": "Checkout <script>alert(1)</script> & {{ 7*7 }} {% raw %}", "next_update_at": "10:20 UTC",
              "declared_at": "10:00 UTC"}  # fmt: skip
    out = lib.render(lib.get("initial"), values, ["slack", "email", "statuspage"])
    assert "{{ 7*7 }}" in out["statuspage"]["body"] and "49" not in out["statuspage"]["body"]
    assert "<script>" not in out["email"]["html"] and "&lt;script&gt;" in out["email"]["html"]
    assert "&amp; {{ 7*7 }}" in out["email"]["html"]
    assert "&lt;script&gt;" in out["slack"]["text"] and "<script>" not in out["slack"]["text"]
    assert out["email"]["text"].startswith("We are investigating reports that checkout <script>")


def test_slack_blocks_respect_block_kit_limits():
    long_body = "\n\n".join("word " * 400 for _ in range(5))
    r = slack_rendering("S" * 200, long_body, "INC-1")
    assert r["blocks"][0]["type"] == "header" and len(r["blocks"][0]["text"]["text"]) == 150
    assert all(len(b["text"]["text"]) <= 3000 for b in r["blocks"] if b["type"] == "section")
    assert r["blocks"][-1]["type"] == "context"
    problems = check_limits({"slack": r}, {})
    assert [p.level for p in problems] == ["warning"]


def test_channel_limits_are_errors_with_words():
    r = {
        "statuspage": {"name": "", "body": "b", "status": "exploding"},
        "email": email_rendering("", "b"),
        "slack": slack_rendering("s", "x" * 41_000),
    }
    messages = [p.message for p in check_limits(r, {"email_to": ["not-an-address"]}) if p.level == "error"]
    assert any("investigating, identified, monitoring, resolved" in m for m in messages)
    assert any("needs a name" in m for m in messages)
    assert any("needs a subject" in m for m in messages)
    assert any("'not-an-address' is not an e-mail address" in m for m in messages)
    assert any("40,000" in m for m in messages)
