"""What reaches sitrep.log: our messages, not every HTTP request line with its query string."""

from __future__ import annotations

import logging

import httpx

from app.logging_setup import RotatingLog, setup_logging
from tests.fakes.pagerduty import FakePagerDuty


def test_request_urls_with_email_addresses_stay_out_of_the_log(tmp_path):
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), getattr(root, "_sitrep_configured", None))
    saved_levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    fake = FakePagerDuty().start()
    try:
        root._sitrep_configured = False  # type: ignore[attr-defined]
        setup_logging(tmp_path)
        with httpx.Client(base_url=fake.url) as client:
            client.get("/users", params={"query": "ana@example.com"})
        logging.getLogger("sitrep.test").info("worker started")
        for h in root.handlers:
            h.flush()
        text = (tmp_path / "sitrep.log").read_text()
        assert "worker started" in text
        assert "ana@example.com" not in text and "/users" not in text
    finally:
        fake.stop()
        for h in root.handlers:
            if h not in saved[1]:
                root.removeHandler(h)
                h.close()
        root.setLevel(saved[0])
        root._sitrep_configured = saved[2]  # type: ignore[attr-defined]
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def test_the_log_rotates_at_its_size_and_keeps_five_older_files(tmp_path):
    log = logging.getLogger("sitrep.rotation-test")
    log.propagate = False
    handler = RotatingLog(tmp_path / "sitrep.log", max_bytes=1_000, backups=5)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    try:
        for n in range(400):  # ~8 KB of lines: eight files' worth, so the oldest are dropped
            log.warning("line %03d of the rotation test", n)
    finally:
        log.removeHandler(handler)
        handler.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["sitrep.log", *(f"sitrep.log.{n}" for n in range(1, 6))]
    sizes = [(tmp_path / name).stat().st_size for name in names]
    assert all(0 < size <= 1_000 for size in sizes)
    newest, previous = (tmp_path / "sitrep.log").read_text(), (tmp_path / "sitrep.log.1").read_text()
    assert newest.rstrip().endswith("line 399 of the rotation test")
    last_before = int(previous.rstrip().splitlines()[-1].split()[1])
    assert newest.splitlines()[0] == f"line {last_before + 1:03d} of the rotation test"  # nothing lost between
