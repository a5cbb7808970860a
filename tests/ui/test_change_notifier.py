"""The console hears of another process's commits through the -wal file, not only through the slow poll."""

from services.core import Sitrep
from ui.context import ChangeNotifier


def test_a_commit_from_another_connection_is_noticed_through_the_wal_file(qtbot, data_dir, live_sitrep):
    incident = live_sitrep.incidents.declare("Checkout failing", "SEV2", author="ana")
    # A poll interval far beyond the wait below: if the change arrives, the file watcher brought it.
    notifier = ChangeNotifier(live_sitrep, poll_ms=600_000)
    try:
        other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # like `sitrep log` in a terminal
        try:
            with qtbot.waitSignal(notifier.changed, timeout=5000) as blocker:
                other.timeline.log(incident.id, "seen from the terminal", author="bo")
            assert blocker.args[0].topic == "external"
        finally:
            other.close()
    finally:
        notifier.close()


def test_our_own_commit_is_announced_once_not_again_as_external(qtbot, live_sitrep):
    incident = live_sitrep.incidents.declare("Checkout failing", "SEV2", author="ana")
    notifier = ChangeNotifier(live_sitrep, poll_ms=600_000)
    seen = []
    notifier.changed.connect(seen.append)
    try:
        live_sitrep.timeline.log(incident.id, "ours", author="ana")
        qtbot.wait(300)  # let the file watcher fire for our own write
        assert [c.topic for c in seen] == ["timeline"]
    finally:
        notifier.close()
