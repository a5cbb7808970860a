"""The change bus names who asked for a change, and the entry hooks run in the order services/core.py sets."""

from __future__ import annotations

import threading

from services.changes import ChangeBus, Topic


def test_a_change_names_its_initiator_only_inside_the_block_and_only_on_its_thread():
    bus = ChangeBus()
    heard = []
    bus.subscribe(heard.append)
    panel, dialog = object(), object()
    with bus.initiated_by(panel):
        bus.publish(Topic.ROLES, "i1", None)
        with bus.initiated_by(dialog):
            bus.publish(Topic.PEOPLE, None, None)
        bus.publish(Topic.ROLES, "i1", None)
        worker = threading.Thread(target=bus.publish, args=(Topic.SYNC, "i1", None))
        worker.start()
        worker.join()
    bus.publish(Topic.TIMELINE, "i1", 3)
    assert [(c.topic, c.initiator) for c in heard] == [
        (Topic.ROLES, panel),
        (Topic.PEOPLE, dialog),
        (Topic.ROLES, panel),
        (Topic.SYNC, None),  # the sync worker's write is nobody's echo
        (Topic.TIMELINE, None),
    ]


def test_a_topic_reads_as_its_name_and_a_published_name_becomes_a_topic():
    bus = ChangeBus()
    heard = []
    bus.subscribe(heard.append)
    bus.publish("sync", None, None)
    assert heard[0].topic is Topic.SYNC and heard[0].topic == "sync"


def test_the_comms_guard_runs_before_the_outbox_writer(sitrep):
    assert sitrep.store.entry_hooks == [sitrep.comms.guard_entry, sitrep.sync.writer]
