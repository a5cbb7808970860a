"""Jira as the organisation's problem and change records: issues of a problem type and a change type (each
a setting, since every Jira site names its own), read when a person links one to an incident.

A problem is read by key (GET issue); candidate changes by a JQL search on the change type over a time
window. JQL reads dates in the account's own time zone, so the window asked for is widened by the largest
UTC offset and the answer cut to the exact window here, from each issue's `created` (which carries its offset).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from services.adapters.common import parse_remote_time
from services.adapters.failures import PermanentFailure
from services.adapters.http import Http
from services.adapters.interface import SettingField, TracksItil
from services.adapters.values import ItilRecord

API = "/rest/api/3"
_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[1-9][0-9]*")
_FIELDS = ["summary", "status", "issuetype", "created", "updated", "components"]
_WIDEST_OFFSET = timedelta(hours=14)  # UTC+14 (Kiribati) is the furthest any account's zone may be

ITIL_FIELDS = (
    SettingField("problem_issue_type", "Issue type of problem records", "str", "Problem"),
    SettingField("change_issue_type", "Issue type of change records", "str", "Change"),
    SettingField("change_project_key", "Project holding change records (empty: the incident project)", "str", ""),
)


class JiraItil(TracksItil):
    """Mixed into JiraAdapter: it provides `setting`, `base_url`."""

    itil_label = "Jira"

    def itil_ref_problem(self, ref: str) -> str | None:
        if not _KEY.fullmatch(ref or ""):
            return f"'{ref}' is not a Jira issue key (like OPS-123)."
        return None

    def _type_for(self, kind: str) -> str:
        return str(self.setting(f"{kind}_issue_type") or kind.capitalize())  # type: ignore[attr-defined]

    def itil_record(self, http: Http | None, key: str, kind: str) -> ItilRecord:
        assert http is not None
        reply = http.request("GET", f"{API}/issue/{key}", params={"fields": ",".join(_FIELDS)}, not_found_ok=True)
        if reply is None:
            raise PermanentFailure(f"Jira has no issue {key} (or this account may not see it).", status=404)
        record = self._record(reply.body, kind)
        wanted = self._type_for(kind)
        actual = ((reply.body or {}).get("fields") or {}).get("issuetype") or {}
        if str(actual.get("name") or "").lower() != wanted.lower():
            raise PermanentFailure(
                f"{key} is a {actual.get('name') or 'issue of unknown type'} in Jira, not a {wanted} (the "
                f"{kind} issue type set for Jira)."
            )
        return record

    def itil_changes(self, http: Http | None, *, since: datetime, until: datetime, limit: int = 50) -> list[ItilRecord]:
        assert http is not None
        project = self.setting("change_project_key") or self.setting("project_key")  # type: ignore[attr-defined]
        lo, hi = since - _WIDEST_OFFSET, until + _WIDEST_OFFSET
        jql = (f'project = "{project}" AND issuetype = "{self._type_for("change")}" AND created >= '
               f'"{lo:%Y-%m-%d %H:%M}" AND created <= "{hi:%Y-%m-%d %H:%M}" ORDER BY created DESC')  # fmt: skip
        reply = http.request("POST", f"{API}/search/jql", json_body={"jql": jql, "fields": _FIELDS, "maxResults": limit})
        rows = [self._record(issue, "change") for issue in (reply.body or {}).get("issues") or []]
        return [r for r in rows if r.created_at is None or since <= r.created_at <= until]

    def _record(self, issue: Any, kind: str) -> ItilRecord:
        if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict) or not issue.get("key"):
            raise PermanentFailure("Jira answered with something that is not an issue.")
        f = issue["fields"]
        components = tuple(str(c.get("name")) for c in f.get("components") or [] if isinstance(c, dict) and c.get("name"))
        return ItilRecord(
            key=str(issue["key"]), kind=kind, summary=str(f.get("summary") or "")[:300],
            status=str((f.get("status") or {}).get("name") or ""), created_at=parse_remote_time(f.get("created")),
            updated_at=parse_remote_time(f.get("updated")), components=components,
            url=f"{self.base_url()}/browse/{issue['key']}",  # type: ignore[attr-defined]
        )  # fmt: skip
