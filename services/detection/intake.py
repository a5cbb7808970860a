"""Alert intake: polling every configured alert source (an Alertmanager's GET /api/v2/alerts) and the loopback webhook
receiver (services/detection/receiver.py) both end in AlertService.ingest. Blocks on the network: run
it off the GUI thread."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from services.adapters.failures import PayloadError, SyncFailure
from services.adapters.http import Http
from services.adapters.interface import AlertSource

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    sources: int = 0
    alerts: int = 0
    new: int = 0
    resolved: int = 0
    problems: list[str] = field(default_factory=list)


def poll_alertmanagers(sitrep) -> PollReport:
    report = PollReport()
    for adapter in sitrep.sync.make_adapters().values():
        if not isinstance(adapter, AlertSource):
            continue
        timeout = float(adapter.setting("timeout_s") or 20.0)
        with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0))) as client:
            for url in adapter.poll_urls():
                http = Http(client, label=f"{adapter.label} {url}", base_url=url, headers=adapter.headers,
                            describe_error=adapter.describe_error)  # fmt: skip
                try:
                    incoming = adapter.fetch_alerts(http, now=sitrep.now())
                except (SyncFailure, PayloadError) as exc:
                    report.problems.append(f"{url}: {getattr(exc, 'message', None) or exc}")
                    log.warning("alert poll of %s failed: %s", url, exc)
                    continue
                source = incoming[0].source if incoming else adapter.source_for(url)
                result = sitrep.alerts.ingest(incoming, everything_from=source)
                report.sources += 1
                report.alerts += len(incoming)
                report.new += result.new
                report.resolved += result.resolved
    return report
