"""What reaches sitrep.log: our messages, not every HTTP request line with its query string."""

from __future__ import annotations

import logging

import httpx

from app.logging_setup import setup_logging
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
