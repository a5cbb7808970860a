"""What a comms channel is: an adapter that carries the messages a communications lead releases.

Communications (services/comms) knows templates, approval and the stakeholder log; it knows no channel.
A channel adapter says everything channel-shaped about a message: how the template's text becomes what
it sends (its rendering, which is also the preview and what an approval covers), what breaks its
limits, who it goes to (its recipient fields), what it puts on the COMMS timeline entry for its own
`plan` to read, how the stakeholder log records it, and how a console shows it. Everything here works
on the class, without settings or credentials: a draft is previewed before any backend is set up.

A plugin becomes a channel by subclassing CommsChannel next to its Adapter and registering under the
`sitrep.adapters` entry-point group; its name is the channel's name in templates and on the CLI.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(frozen=True)
class MessageText:
    """A message as its template wrote it, before any channel shapes it. `title` and `status` are the
    template's optional blocks; `values` are the field values (a channel may read one it declared)."""

    subject: str
    body: str
    title: str = ""
    status: str = ""
    footer: str = ""
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A limit or rule a rendering breaks. level "error" blocks sending; "warning" does not."""

    channel: str | None
    field: str | None
    message: str
    level: str = "error"


@dataclass(frozen=True)
class RecipientField:
    """Who a channel's message goes to, as one form field: `addresses` holds a list (comma separated
    when typed), otherwise one value."""

    key: str  # the key in a message's recipients, e.g. "email_to"
    label: str  # what a form calls it, e.g. "E-mail to"
    addresses: bool = False
    placeholder: str = ""
    cli_flag: str = ""  # e.g. "--to"; empty: "--" + key with dashes
    help: str = ""
    # The stakeholder contact that fills it when a draft's recipients are suggested ("email", "slack",
    # "phone"); empty: never suggested.
    suggest_from: str = ""

    @property
    def flag(self) -> str:
        return self.cli_flag or "--" + self.key.replace("_", "-")


@dataclass(frozen=True)
class ChannelField:
    """A template field a channel fills in for every draft (e.g. the status page's status)."""

    name: str
    label: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggedMessage:
    """What the stakeholder log records of one channel's delivery of a message."""

    subject: str
    content: str
    recipients: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviewPart:
    """One view of a rendering for a console: `html` (shown as rich text) or plain `text`."""

    title: str
    html: str | None = None
    text: str | None = None


class CommsChannel(ABC):
    """The ability to carry released comms messages. Declared by an Adapter subclass."""

    name: ClassVar[str]
    channel_label: ClassVar[str]  # what a person calls the channel, e.g. "Status page"
    channel_rank: ClassVar[int] = 100  # where it comes in a chooser (lower first)
    recipient_fields: ClassVar[tuple[RecipientField, ...]] = ()
    channel_fields: ClassVar[tuple[ChannelField, ...]] = ()

    @classmethod
    @abstractmethod
    def render_message(cls, text: MessageText) -> dict[str, Any]:
        """What this channel would send for the text: JSON-able, stored with the draft, approved as is."""

    @classmethod
    def message_problems(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> list[Problem]:
        """What stops the rendering going out (errors) and what deserves a look (warnings)."""
        return []

    @classmethod
    @abstractmethod
    def subject_of(cls, rendering: dict[str, Any]) -> str:
        """The rendering's headline, for lists and the timeline."""

    @classmethod
    def clean_recipients(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """This channel's recipient fields from what a form or command gave (lists split and trimmed)."""
        out: dict[str, Any] = {}
        for f in cls.recipient_fields:
            raw = given.get(f.key)
            if f.addresses:
                items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw or [])
                values = [str(a).strip() for a in items if str(a).strip()]
                if values:
                    out[f.key] = list(dict.fromkeys(values))
            else:
                value = str(raw or "").strip()
                if value:
                    out[f.key] = value
        return out

    @classmethod
    @abstractmethod
    def entry_payload(cls, rendering: dict[str, Any], recipients: Mapping[str, Any], ref: str) -> dict[str, Any]:
        """What the COMMS timeline entry carries for this channel (data["comms"]["channels"][name]);
        the adapter's own `plan` reads it back to write its outbox item."""

    @classmethod
    @abstractmethod
    def logged(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> LoggedMessage:
        """The stakeholder log's record of sending the rendering."""

    @classmethod
    def prefill(cls, incident_status: str) -> dict[str, str]:
        """Values for this channel's `channel_fields` on a new draft, from the incident's status."""
        return {}

    @classmethod
    @abstractmethod
    def preview(cls, rendering: dict[str, Any]) -> list[PreviewPart]:
        """How a console shows the rendering (the first part is the main view)."""


def is_email_address(text: str) -> bool:
    return bool(_EMAIL.match(text))


def paragraphs(body: str) -> list[str]:
    """A template body's paragraphs (blocks between blank lines), for channels that lay them out."""
    return [p.strip("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]
