"""What PagerDuty accepts, from its REST API v2 and Events API v2 reference pages.

REST: every request says `Accept: application/vnd.pagerduty+json;version=2`; a write names the acting
user in `From` (an e-mail address); JSON bodies wrap the object in its type ({"incident": {...}});
references are {"id", "type": "<thing>_reference"}; lists page with `limit` (at most 100) and
`offset`. Events v2: POST /v2/enqueue with a 32-character routing key, an event action, and for a
trigger a payload with summary (up to 1,024 characters), source and severity.
"""

from __future__ import annotations

from tests.fakes.contract import (
    ANY_OBJECT,
    INT,
    NONEMPTY,
    STR,
    Contract,
    Operation,
    Param,
    RequestInvalid,
    array,
    enum,
    obj,
    ref_to,
    text,
)  # fmt: skip

ACCEPT = "application/vnd.pagerduty+json;version=2"
_EMAIL = r"[^@\s]+@[^@\s]+"
_WRITE = {"From": _EMAIL}
_PAGING = {"limit": Param("integer", minimum=1, maximum=100), "offset": Param("integer", minimum=0),
           "total": Param("boolean")}  # fmt: skip
_URGENCY = enum("high", "low")

_NEW_INCIDENT = obj({"incident": obj(
    {"type": enum("incident"), "title": text(1024, min_length=1), "service": ref_to("service_reference")},
    {"incident_key": text(255), "urgency": _URGENCY, "priority": ref_to("priority_reference"),
     "escalation_policy": ref_to("escalation_policy_reference"),
     "body": obj({"type": enum("incident_body")}, {"details": {"type": ["string", "object"]}}),
     "assignments": array(obj({"assignee": ref_to("user_reference")})),
     "conference_bridge": ANY_OBJECT},
)})  # fmt: skip
_INCIDENT_CHANGE = obj({"incident": obj(
    {"type": enum("incident", "incident_reference")},
    {"status": enum("acknowledged", "resolved"), "title": text(1024, min_length=1), "urgency": _URGENCY,
     "priority": {"type": ["object", "null"]}, "resolution": STR, "escalation_level": INT,
     "escalation_policy": ref_to("escalation_policy_reference")},
)})  # fmt: skip


def _trigger_has_payload(event: dict) -> None:
    if event.get("event_action") == "trigger" and "payload" not in event:
        raise RequestInvalid("a trigger event needs a payload")
    if event.get("event_action") != "trigger" and not event.get("dedup_key"):
        raise RequestInvalid("an acknowledge or resolve event needs the dedup_key of what it acts on")


_EVENT = obj(
    {"routing_key": text(32, min_length=32), "event_action": enum("trigger", "acknowledge", "resolve")},
    {"dedup_key": text(255, min_length=1), "client": STR, "client_url": STR, "links": array(ANY_OBJECT),
     "images": array(ANY_OBJECT),
     "payload": obj({"summary": text(1024, min_length=1), "source": NONEMPTY,
                     "severity": enum("critical", "error", "warning", "info")},
                    {"timestamp": STR, "component": STR, "group": STR, "class": STR, "custom_details": ANY_OBJECT})},
)  # fmt: skip

REST = Contract("PagerDuty", [
    Operation("POST", "/incidents", body=_NEW_INCIDENT, headers=_WRITE),
    Operation("GET", "/incidents", query={
        **_PAGING, "incident_key": Param(), "date_range": Param(values=("all",)), "since": Param("date-time"),
        "until": Param("date-time"), "statuses[]": Param(values=("triggered", "acknowledged", "resolved"), repeated=True),
        "service_ids[]": Param(repeated=True), "include[]": Param(repeated=True), "time_zone": Param()}),
    Operation("GET", "/incidents/{id}", query={"include[]": Param(repeated=True)}),
    Operation("PUT", "/incidents/{id}", body=_INCIDENT_CHANGE, headers=_WRITE),
    Operation("GET", "/incidents/{id}/notes"),
    Operation("POST", "/incidents/{id}/notes", body=obj({"note": obj({"content": NONEMPTY})}), headers=_WRITE),
    Operation("POST", "/incidents/{id}/status_updates", body=obj({"message": NONEMPTY}, {"subject": STR,
              "html_message": STR}), headers=_WRITE),  # fmt: skip
    Operation("POST", "/incidents/{id}/responder_requests", headers=_WRITE, body=obj({
        "requester_id": NONEMPTY, "message": NONEMPTY,
        "responder_request_targets": array(obj({"responder_request_target": obj(
            {"id": NONEMPTY, "type": enum("user_reference", "escalation_policy_reference")})}), min_items=1)})),
    Operation("GET", "/incidents/{id}/log_entries", query={
        **_PAGING, "is_overview": Param("boolean"), "include[]": Param(repeated=True), "time_zone": Param(),
        "since": Param("date-time"), "until": Param("date-time")}),
    Operation("GET", "/priorities", query=_PAGING),
    Operation("GET", "/users", query={**_PAGING, "query": Param(), "include[]": Param(repeated=True)}),
    Operation("GET", "/services/{id}", query={"include[]": Param(repeated=True)}),
    Operation("GET", "/oncalls", query={
        **_PAGING, "escalation_policy_ids[]": Param(repeated=True), "schedule_ids[]": Param(repeated=True),
        "user_ids[]": Param(repeated=True), "since": Param("date-time"), "until": Param("date-time"),
        "earliest": Param("boolean"), "time_zone": Param(), "include[]": Param(
            values=("escalation_policies", "users", "schedules"), repeated=True)}),
], headers={"Accept": ACCEPT.replace("+", r"\+").replace(".", r"\.")})  # fmt: skip

EVENTS = Contract("PagerDuty Events", [
    Operation("POST", "/enqueue", body=_EVENT, check=_trigger_has_payload),
])

