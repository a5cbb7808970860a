"""The console hears of another process's commits through the -wal file, not only through the slow poll."""

import subprocess
import sys
from pathlib import Path

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


FREED_ON_A_WORKER = """
import gc, os, sys, threading
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QCoreApplication, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication
from services.core import Sitrep
from ui.context import ChangeNotifier

said = []
qInstallMessageHandler(lambda _kind, _context, text: said.append(text))
app = QApplication([])
store = Sitrep.open(f"sqlite:///{sys.argv[2]}")
store.incidents.declare("Checkout failing", "SEV2", author="ana")  # the -wal file exists
notifier = ChangeNotifier(store, poll_ms=50)
assert notifier._files.files(), "not watching the -wal file"
notifier.close()
cycle = {"notifier": notifier}
cycle["itself"] = cycle
del notifier, cycle
freed = threading.Thread(target=gc.collect)
freed.start()
freed.join()
QTimer.singleShot(200, app.quit)
app.exec()
store.close()
print("QT SAID:", said)
"""


def test_a_closed_notifier_freed_by_a_worker_threads_garbage_collection_leaves_qt_alone(data_dir):
    """The garbage collector runs on whichever thread allocates: a worker computing figures may free a
    notifier that sits in a reference cycle (a context whose shell refers back to it). Its watcher's
    socket notifier and its timer must already be gone by then, destroyed by close() on the GUI thread;
    otherwise Qt complains, and its event loop may spin or crash (hence a separate process)."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", FREED_ON_A_WORKER, str(root), str(data_dir / "n.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "QT SAID: []" in out.stdout, out.stdout[-2000:]
