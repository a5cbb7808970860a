"""CommsService: the communications services in one object, as `Sitrep.comms`.

Each concern is a module over a shared core (services/comms/core.py): drafting (templates, previews, drafts),
approval, sending (and the per-channel code), the stakeholder log, the stakeholder registry, and escalation with
the regulatory clocks. Their value types are in services/comms/views.py, the settings in
services/comms/settings.py. They import the core and never each other; this class is where they meet.
"""

from __future__ import annotations

from services.comms.approval import Approval
from services.comms.contact_log import ContactLog
from services.comms.drafting import MessageDrafts
from services.comms.escalation import RegulatoryClocks
from services.comms.sending import Sending
from services.comms.stakeholders import StakeholderRegistry


class CommsService(MessageDrafts, Approval, Sending, ContactLog, StakeholderRegistry, RegulatoryClocks):
    """Draft from a template, get approval, send through the sync outbox, keep the stakeholder log and
    registry, apply escalation paths and keep regulatory clocks."""
