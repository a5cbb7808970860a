"""A new outside system is one module plus one entry point: a plugin distribution, installed beside
Sitrep and found through the `sitrep.adapters` entry-point group, adds a comms channel that drafts,
previews (in the services and in the console), is approved, and is sent through the outbox to a
server on loopback, with no edit in ui/, app/ or services/comms/."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest

from services.core import Sitrep
from services.storage.secrets import MemorySecrets
from tests.comms.conftest import DRAFTER, IC
from tests.fakes.contract import NONEMPTY, Contract, Operation, obj, text
from tests.fakes.server import FakeServer, Reply
from tests.sync.conftest import WORKER_OPTIONS
from ui.channel_forms import ChannelPreviews

TOKEN = "board-token-0001"

# The plugin as its author would ship it: one module, nothing of Sitrep's changed.
PLUGIN = textwrap.dedent('''
    """A team notice board: a comms channel that posts a headline and a text to a room over HTTP."""
    from html import escape

    from services.adapters.channel import CommsChannel, LoggedMessage, PreviewPart, Problem, RecipientField
    from services.adapters.failures import PermanentFailure
    from services.adapters.interface import Adapter, HttpApi, SecretField, SettingField
    from services.adapters.values import Planned, SendResult

    HEADLINE_MAX = 80


    class NoticeBoard(Adapter, HttpApi, CommsChannel):
        name = "board"
        label = "Notice board"
        channel_label = "Notice board"
        fields = (SettingField("url", "Board API URL", "url", None, required=True),)
        secrets = (SecretField("token", "API token"),)
        recipient_fields = (RecipientField("board_room", "Board room", placeholder="room name"),)

        # the channel: what a message becomes, its limits, its log line and its preview
        @classmethod
        def render_message(cls, text):
            return {"headline": text.subject, "text": text.body}

        @classmethod
        def message_problems(cls, rendering, recipients):
            out = []
            if len(rendering["headline"]) > HEADLINE_MAX:
                out.append(Problem(cls.name, "subject", f"A board headline holds {HEADLINE_MAX} characters."))
            if not recipients.get("board_room"):
                out.append(Problem(cls.name, "board_room", "Choose the board room."))
            return out

        @classmethod
        def subject_of(cls, rendering):
            return rendering["headline"]

        @classmethod
        def entry_payload(cls, rendering, recipients, ref):
            return {**rendering, "room": recipients.get("board_room"), "ref": ref}

        @classmethod
        def logged(cls, rendering, recipients):
            return LoggedMessage(rendering["headline"], rendering["text"], [f"room {recipients.get('board_room')}"])

        @classmethod
        def preview(cls, rendering):
            return [PreviewPart("Notice", html=f"<h3>{escape(rendering['headline'])}</h3><p>{escape(rendering['text'])}</p>")]

        # the backend: what it is owed, and how one item is carried out
        def plan(self, change):
            post = ((change.data.get("comms") or {}).get("channels") or {}).get(self.name)
            if change.entry.kind != "comms" or not isinstance(post, dict):
                return []
            return [Planned("post_notice", post, f"{self.name}:{change.entry.id}")]

        def send(self, ctx):
            if ctx.item.op != "post_notice":
                raise PermanentFailure(f"The board does not know '{ctx.item.op}'.")
            ctx.refuse_blind_resend("notice")
            p = ctx.item.payload
            reply = ctx.http.request("POST", "/notices", json_body={"room": p["room"], "headline": p["headline"],
                                                                    "text": p["text"], "ref": p["ref"]})
            return SendResult(remote_ref=(reply.body or {}).get("id"))

        def test_connection(self, http):
            http.request("GET", "/rooms")
            return "The board answers."

        def base_url(self):
            return self.setting("url")

        def headers(self):
            return {"Authorization": f"Bearer {self.secret('token')}", "Content-Type": "application/json"}

        def describe_error(self, status, body, text):
            return (body or {}).get("error") if isinstance(body, dict) else text or f"HTTP {status}"
''')

TEMPLATE = textwrap.dedent('''\
    {#
    name = "Board notice"
    audience = "responders"
    channels = ["board", "slack"]
    required = ["incident_key", "what"]
    [fields.what]
    label = "What is happening"
    #}
    {% block subject %}{{ incident_key }}: {{ what }}{% endblock %}
    {% block body %}{{ what }} ({{ status_label }}).{% endblock %}
''')


class FakeBoard(FakeServer):
    """The board's API on loopback, checking what it accepts as the fakes do."""

    label = "Notice board"
    contract = Contract("Notice board", [
        Operation("POST", "/notices", body=obj({"room": NONEMPTY, "headline": text(80, min_length=1),
                                                "text": {"type": "string"}, "ref": NONEMPTY})),
        Operation("GET", "/rooms"),
    ])  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[dict] = []

    def validate(self, method, path, query, headers, body) -> None:
        self.contract.check(method, path, query, headers, body)

    def handle(self, method, path, query, headers, body) -> Reply:
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": "bad token"})
        if path == "/rooms":
            return Reply(200, [{"name": "ops"}])
        with self.lock:
            self.notices.append(json.loads(body))
            return Reply(201, {"id": f"n{len(self.notices)}"})


@pytest.fixture
def board_plugin(tmp_path, monkeypatch):
    """Installs the plugin as a distribution would: its module and a dist-info naming its entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitrep_board.py").write_text(PLUGIN)
    info = site / "sitrep_board-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sitrep-board\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sitrep.adapters]\nboard = sitrep_board:NoticeBoard\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield
    sys.modules.pop("sitrep_board", None)


@pytest.fixture
def board():
    fake = FakeBoard().start()
    yield fake
    fake.stop()
    assert fake.violations == [], fake.violations


def test_a_plugin_adds_a_comms_channel_that_is_previewed_and_sent_through_the_outbox(
    board_plugin, board, data_dir, clock, qtbot
):
    config = data_dir / "config"
    (config / "templates").mkdir(parents=True)
    (config / "templates" / "board_notice.j2").write_text(TEMPLATE)
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", backups_dir=data_dir / "backups", config_dir=config,
                      now=clock, sync_options={"secrets": MemorySecrets({("board", "token"): TOKEN}),
                                               "worker_options": WORKER_OPTIONS})  # fmt: skip
    try:
        assert "board" in app.comms.channels() and app.comms.channel_label("board") == "Notice board"
        assert app.comms.templates.problems == [] and "board" in app.comms.templates.get("board_notice").channels
        app.people.add("Ana Lopez", IC)
        inc = app.incidents.declare("Checkout failing", "SEV2", author=IC, services=["checkout"])
        app.roles.assign(inc.key, "IC", IC, author=IC)

        # Drafted and previewed: the plugin renders it and checks its own limits.
        m = app.comms.draft(inc.key, "board_notice", author=DRAFTER, channels=["board"],
                            fields={"what": "card payments time out"})  # fmt: skip
        pv = app.comms.preview(m.template_id, m.fields, m.channels, m.recipients)
        assert pv.rendered["board"]["headline"] == f"{inc.key}: card payments time out"
        assert [p.message for p in pv.errors] == ["Choose the board room."]
        long = app.comms.preview(m.template_id, {**m.fields, "what": "x" * 90}, ["board"], {"board_room": "ops"})
        assert [p.message for p in long.errors] == ["A board headline holds 80 characters."]
        m = app.comms.edit(m.ref, author=DRAFTER, recipients={"board_room": "ops"})
        assert m.subject == f"{inc.key}: card payments time out"
        assert app.comms.preview(m.template_id, m.fields, m.channels, m.recipients).errors == []

        # The console's preview tab comes from the plugin too.
        previews = ChannelPreviews(app.comms.channels())
        qtbot.addWidget(previews)
        labels = [previews.tabText(i) for i in range(previews.count())]
        assert "Notice board" in labels
        previews.show_rendering(m.rendered)
        assert "card payments time out" in previews.main_text("board")

        # Not set up yet: refused, as the sync service says why.
        with pytest.raises(Exception, match="Notice board is not configured"):
            app.comms.send(m.ref, author=DRAFTER)
        app.sync.configure("board", {"enabled": True, "url": board.url, "timeout_s": 2.0})
        assert app.sync.readiness("board").ready
        assert app.sync.test_connection("board") == "The board answers."

        # Sent through the outbox to the loopback board, once.
        app.comms.send(m.ref, author=DRAFTER)
        report = app.sync.drain_once(max_wait_s=3)
        assert report.sent == 1
        app.sync.drain_once(max_wait_s=0.2)
        assert board.notices == [{"room": "ops", "headline": f"{inc.key}: card payments time out",
                                  "text": "card payments time out (Declared).", "ref": m.ref}]  # fmt: skip
        [d] = app.comms.deliveries(m.ref)
        assert d.state == "sent" and d.label == "Notice board"
        [row] = app.comms.log(inc.key)
        assert row.channel == "board" and row.recipients == ["room ops"] and row.subject.endswith("time out")
    finally:
        app.close()
