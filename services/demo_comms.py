"""The demo's communications, told the way a comms lead works: each public update is a message drafted
from a template, approved by the commander of the time and recorded as posted in the status page's own
console (the demo has no backend to send through), so the Communications list, the stakeholder log, the
timeline and the update clock tell one story. Plus the stakeholder registry, the calls to the two
enterprise customers, a regulatory clock, and a year of earlier incidents for the charts.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from models.enums import Milestone
from services.analytics.sample_history import generate, write_csv
from services.comms.views import ContactInput

STAKEHOLDERS = (
    ("cfo", "Dana Whitfield (CFO)", "executives", {"email": "dana.whitfield@example.com", "severities": ["SEV1"]}),
    ("legal-oncall", "Legal on call", "legal", {"email": "legal-oncall@example.com", "phone": "+44 20 5550 0100"}),
    ("press-office", "Press office", "pr", {"email": "press@example.com"}),
    ("acme-retail", "Acme Retail (enterprise)", "customer", {"email": "ops@acme-retail.example", "phone": "+49 30 5550 1122"}),
    ("globex", "Globex Travel (enterprise)", "customer", {"email": "noc@globex.example", "phone": "+33 1 5550 4433"}),
    ("card-gateway-vendor", "CardGate support", "vendor", {"email": "support@cardgate.example"}),
)  # fmt: skip


def seed_stakeholders(s) -> None:
    for handle, name, group, extra in STAKEHOLDERS:
        s.comms.add_stakeholder(handle, name, group, **extra)


def public_update(story, minutes: float, drafter: str, approver: str, template: str, fields: dict[str, str]):
    """Drafted at `minutes`, approved half a minute later, posted on the status page a minute after."""
    s, i = story.s, story.incident_id
    story.to(minutes)
    m = s.comms.draft(i, template, author=drafter, channels=["statuspage"], fields=fields)
    story.to(minutes + 0.5)
    s.comms.approve(m.ref, approver=approver)
    story.to(minutes + 1)
    return s.comms.record_sent_by_hand(m.ref, author=drafter, how="statuspage",
                                       note="posted in the status page's own console")  # fmt: skip


def status_page(story, minutes: float, drafter: str, approver: str, status: str, effect: str, progress: str):
    return public_update(story, minutes, drafter, approver, "statuspage_update",
                         {"statuspage_status": status, "customer_effect": effect, "progress": progress})  # fmt: skip


def enterprise_calls(story, minutes: float, caller: str) -> None:
    story.to(minutes)
    for who, said in (
        ("Acme Retail (enterprise)", "Explained the EU card failures and the workaround (wallet payments); "
                                     "promised a direct note when resolved."),
        ("Globex Travel (enterprise)", "Their NOC saw declined bookings; shared the status page and the next "
                                       "update time."),
    ):  # fmt: skip
        story.s.comms.record_contact(story.incident_id, ContactInput(channel="phone", audience="customers",
                                     content=said, recipients=[who]), author=caller)  # fmt: skip


def dora_clock(story, minutes: float, author: str) -> None:
    story.to(minutes)
    story.s.comms.start_clock(story.incident_id, "eu_dora_initial", author=author,
                              note="Classified major under DORA: EU card payments failing for ~40% of attempts")  # fmt: skip


def earlier_history(s, before: datetime, author: str) -> None:
    """A year of earlier incidents (resolved, imported as history) so every chart has something to say."""
    with tempfile.TemporaryDirectory(prefix="sitrep-demo-history-") as folder:
        rows = [r for r in generate(130, seed=12, start=before - timedelta(days=365), end=before)
                if r.milestones.get(Milestone.RESOLVED) is not None]  # a year-old incident still open reads as a bug  # fmt: skip
        path = write_csv(rows, Path(folder) / "history.csv")
        s.history.import_file(path, author=author)
