"""The demo's vendor case: the SEV1's new commander asks the database host whether payments-db-eu hit a
connection ceiling. Its contract's 30-minute response time runs out half an hour after the demo opens, so the
breach can be watched (or crossed at once on a fake clock, as tests/vendors/test_vendor_acceptance.py does)."""

from __future__ import annotations

from services.record.views import IncidentView
from services.vendors.views import VendorCaseView


def seed_vendor_cases(s, sev1: IncidentView) -> VendorCaseView:
    """`s` is the demo's Sitrep on its story clock, standing at the end of the SEV1's story."""
    return s.vendors.open_case(
        sev1.id, "northwind", "P1", author="sam.okafor", ticket_ref="NWC-5521907", channel="portal",
        service="Managed Postgres payments-db-eu (eu-west-1): connection limit and pool saturation",
    )  # fmt: skip
