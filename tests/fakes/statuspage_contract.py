"""What Statuspage's REST API v1 accepts, from its reference pages.

Paths are under /pages/{page_id} (each also answers with a `.json` suffix); bodies are JSON and wrap
the object ({"incident": {...}}, {"incident_update": {...}}). An incident has a name and a status from
the realtime set (investigating, identified, monitoring, resolved) or, for a scheduled maintenance,
the scheduled set (scheduled, in_progress, verifying, completed); components map ids to a component
status; lists page with `page` and `per_page` (at most 100).
"""

from __future__ import annotations

from tests.fakes.contract import (
    ANY_OBJECT,
    BOOL,
    DATE_TIME,
    INT,
    STR,
    Contract,
    Operation,
    Param,
    RequestInvalid,
    array,
    enum,
    map_of,
    obj,
    text,
)  # fmt: skip

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved",
                     "scheduled", "in_progress", "verifying", "completed")  # fmt: skip
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage",
                      "major_outage", "")  # fmt: skip
_PAGING = {"page": Param("integer", minimum=1), "per_page": Param("integer", minimum=1, maximum=100)}

_INCIDENT_FIELDS = {
    "name": text(255, min_length=1), "status": enum(*INCIDENT_STATUSES),
    "impact_override": enum("none", "maintenance", "minor", "major", "critical"),
    "scheduled_for": DATE_TIME, "scheduled_until": DATE_TIME, "scheduled_remind_prior": BOOL,
    "scheduled_auto_in_progress": BOOL, "scheduled_auto_completed": BOOL, "metadata": ANY_OBJECT,
    "deliver_notifications": BOOL, "auto_transition_deliver_notifications_at_end": BOOL,
    "auto_transition_deliver_notifications_at_start": BOOL, "auto_transition_to_maintenance_state": BOOL,
    "auto_transition_to_operational_state": BOOL, "auto_tweet_at_beginning": BOOL,
    "auto_tweet_on_completion": BOOL, "auto_tweet_on_creation": BOOL, "auto_tweet_one_hour_before": BOOL,
    "backfill_date": STR, "backfilled": BOOL, "body": text(25_000),
    "components": map_of(enum(*COMPONENT_STATUSES)), "component_ids": array(STR), "scheduled_auto_transition": BOOL,
}  # fmt: skip



def _new_incident(body: dict) -> None:
    inc = body["incident"]
    if inc.get("status") in ("scheduled", "in_progress", "verifying", "completed") and not inc.get("scheduled_for"):
        raise RequestInvalid("a scheduled status is for a scheduled maintenance (scheduled_for is missing)")


_PAGE = "/pages/{page_id}"
CONTRACT = Contract("Statuspage", [
    Operation("GET", "/pages"),
    Operation("GET", f"{_PAGE}/components", query=_PAGING),
    Operation("POST", f"{_PAGE}/incidents", check=_new_incident,
              body=obj({"incident": obj({"name": _INCIDENT_FIELDS["name"]}, _INCIDENT_FIELDS, closed=True)})),
    Operation("GET", f"{_PAGE}/incidents", query={"q": Param(), "limit": Param("integer", minimum=1), **_PAGING}),
    *(Operation("GET", f"{_PAGE}/incidents/{listing}", query=_PAGING)
      for listing in ("unresolved", "scheduled", "upcoming", "active_maintenance")),
    Operation("GET", f"{_PAGE}/incidents/{{incident_id}}"),
    *(Operation(method, f"{_PAGE}/incidents/{{incident_id}}",
                body=obj({"incident": obj({}, _INCIDENT_FIELDS, closed=True)})) for method in ("PATCH", "PUT")),
    *(Operation(method, f"{_PAGE}/incidents/{{incident_id}}/incident_updates/{{update_id}}",
                body=obj({"incident_update": obj({}, {"body": text(25_000), "display_at": DATE_TIME,
                         "deliver_notifications": BOOL, "wants_twitter_update": BOOL, "tweet_id": INT,
                         "twitter_updated_at": DATE_TIME}, closed=True)}))
      for method in ("PATCH", "PUT")),
], strip_suffix=".json", ignore_query=frozenset({"api_key"}))  # fmt: skip
