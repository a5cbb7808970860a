"""Jira Cloud REST v3 on loopback: issues, transitions, comments, search/jql, links, myself, project.

Problem and change records people keep in Jira (issues of the Problem and Change types) are made with
`add_made_elsewhere`; search/jql finds them by project, issue type and a creation window, in the bot
account's time zone (UTC, as /myself says).

Beyond the spec's (loose) schemas it checks what Jira itself enforces: Basic auth, the create fields,
ADF documents (against the published ADF schema), allowed transitions and a bounded JQL.
"""

from __future__ import annotations

import base64
import itertools
import json
import re

import jsonschema

from tests.fakes import jira_contract as contract
from tests.fakes.contract import RequestInvalid
from tests.fakes.openapi import SpecValidator, load_schema, specs_dir
from tests.fakes.server import FakeServer, Reply, now_iso

EMAIL = "sitrep-bot@example.com"
TOKEN = "jira-test-token-0001"
PROJECT = "OPS"
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
ISSUE_TYPES = ("Incident", "Task")
CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
# status -> [(transition id, name, target status)]
WORKFLOW = {
    "To Do": [("11", "Start work", "In Progress"), ("21", "Resolve", "Done")],
    "In Progress": [("31", "Done", "Done"), ("41", "Back to to do", "To Do")],
    "Done": [("51", "Reopen", "In Progress")],
}
_SPEC = None
_ADF = None
_DATE = r'"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"'
_BY_TYPE = re.compile(rf'\s*project\s*=\s*"([A-Z][A-Z0-9]*)"\s+AND\s+issuetype\s*=\s*"([^"]+)"\s+AND\s+created\s*>=\s*'
                      rf'{_DATE}\s+AND\s+created\s*<=\s*{_DATE}\s+ORDER BY created DESC\s*')  # fmt: skip


def _spec():
    """The published spec and ADF schema, when the specs are here (None, None otherwise)."""
    global _SPEC, _ADF
    if _SPEC is None and specs_dir() is not None:
        _SPEC = SpecValidator("jira-cloud-v3.subset.json")
        _ADF = jsonschema.Draft4Validator(load_schema("atlassian-adf-v1.schema.json"))
    return _SPEC, _ADF


class FakeJira(FakeServer):
    label = "Jira"

    def __init__(self) -> None:
        super().__init__()
        self.spec, self.adf = _spec()
        self._ids = itertools.count(10000)
        self._numbers = itertools.count(1)
        self.issues: dict[str, dict] = {}
        self.others: set[str] = {"OPS-900", "DB-17"}  # issues people made elsewhere, to link to
        self.comments: dict[str, list[dict]] = {}
        self.links: set[tuple[str, str, str]] = set()
        self.bot = {"accountId": "acc-bot", "displayName": "Sitrep Bot", "emailAddress": EMAIL}
        self.users: dict[str, dict] = {}  # e-mail -> user, for assignee look-ups (`add_user`)

    def error_body(self, status: int, message: str):
        return {"errorMessages": [message], "errors": {}}

    def validate(self, method, path, query, headers, body) -> None:
        contract.CONTRACT.check(method, path, query, headers, body)
        if self.spec is not None:
            self.spec.validate(method, path, query, headers, body)

    def _check_adf(self, doc, what: str) -> None:
        contract.check_adf(doc, what)
        if self.adf is None:
            return
        errors = list(self.adf.iter_errors(doc))
        if errors:
            raise RequestInvalid(f"{what} is not a valid ADF document: {errors[0].message[:200]}")

    def _issue_view(self, issue: dict) -> dict:
        f = issue["fields"]
        return {
            "id": issue["id"], "key": issue["key"], "self": f"{self.url}/rest/api/3/issue/{issue['id']}",
            "fields": {**f, "status": {"name": f["status"], "statusCategory": {"key": CATEGORY[f["status"]]}}},
        }  # fmt: skip

    def handle(self, method, path, query, headers, body) -> Reply:
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        if headers.get("Authorization") != expected:
            return Reply(
                401,
                {
                    "errorMessages": [
                        "You are not authenticated. Authentication required to perform this operation."
                    ]
                },
            )
        data = json.loads(body) if body else None
        parts = path.removeprefix("/rest/api/3/").strip("/").split("/")
        with self.lock:
            if parts == ["myself"]:
                return Reply(200, {**self.bot, "accountType": "atlassian", "active": True, "timeZone": "UTC"})
            if parts[0] == "project" and len(parts) == 2:
                if parts[1] != PROJECT:
                    return Reply(404, self.error_body(404, "No project could be found with key"))
                return Reply(200, {"id": "10000", "key": PROJECT, "name": "Operations"})
            if parts == ["user", "search"] and method == "GET":
                q = (query.get("query") or [""])[0].lower()
                return Reply(200, [u for e, u in self.users.items() if q and q in e.lower()][:50])
            if parts == ["issue"] and method == "POST":
                return self._create(data)
            if parts == ["search", "jql"] and method == "POST":
                return self._search(data)
            if parts == ["issueLink"] and method == "POST":
                inward, outward = data["inwardIssue"]["key"], data["outwardIssue"]["key"]
                missing = [k for k in (inward, outward) if k not in self.issues and k not in self.others]
                if missing:  # what Jira answers for a key it does not have (or the user cannot see)
                    return Reply(
                        404, {"errorMessages": [f"Issue Does Not Exist: {missing[0]}"], "errors": {}}
                    )
                self.links.add((data["type"]["name"], inward, outward))
                return Reply(201, None)
            if parts[0] == "issue" and len(parts) >= 2:
                issue = self.issues.get(parts[1]) or next(
                    (i for i in self.issues.values() if i["id"] == parts[1]), None
                )
                if issue is None:
                    return Reply(
                        404,
                        self.error_body(404, "Issue does not exist or you do not have permission to see it."),
                    )
                return self._issue_op(method, parts[2:], issue, data, query)
        return Reply(404, self.error_body(404, f"fake has no {method} {path}"))

    def _create(self, data: dict) -> Reply:
        f = data.get("fields") or {}
        errors = {}
        if (f.get("project") or {}).get("key") != PROJECT:
            errors["project"] = "valid project is required"
        if (f.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
            errors["issuetype"] = "valid issue type is required"
        if not f.get("summary") or len(f["summary"]) > 255:
            errors["summary"] = "You must specify a summary of the issue."
        if "priority" in f and f["priority"].get("name") not in PRIORITIES:
            errors["priority"] = "The priority selected is invalid."
        if any(" " in label for label in f.get("labels") or []):
            errors["labels"] = "Labels cannot contain spaces."
        if errors:
            return Reply(400, {"errorMessages": [], "errors": errors})
        if "description" in f:
            self._check_adf(f["description"], "fields.description")
        n = next(self._numbers)
        key = f"{PROJECT}-{n}"
        issue = {
            "id": str(next(self._ids)), "key": key, "properties": {p["key"]: p["value"] for p in data.get("properties") or []},
            "fields": {"summary": f["summary"], "description": f.get("description"), "labels": f.get("labels") or [],
                       "priority": f.get("priority"), "components": f.get("components") or [], "status": "To Do",
                       "issuetype": f["issuetype"], "updated": now_iso(), "created": now_iso(), "duedate": f.get("duedate"),
                       "assignee": self._user(f.get("assignee"))},
        }  # fmt: skip
        self.issues[key] = issue
        return Reply(
            201, {"id": issue["id"], "key": key, "self": f"{self.url}/rest/api/3/issue/{issue['id']}"}
        )

    def _user(self, ref: dict | None) -> dict | None:
        if not ref:
            return None
        return next((u for u in self.users.values() if u["accountId"] == ref.get("accountId")), None)

    def add_user(self, email: str, name: str) -> dict:
        with self.lock:
            user = {"accountId": f"acc-{len(self.users) + 1}", "displayName": name, "emailAddress": email,
                    "active": True, "accountType": "atlassian"}  # fmt: skip
            self.users[email] = user
            return user

    def _search(self, data: dict) -> Reply:
        jql = data["jql"]
        by_type = _BY_TYPE.fullmatch(jql)
        if by_type:
            return self._search_by_type(by_type, data)
        m = re.fullmatch(r'\s*project\s*=\s*"?([A-Z][A-Z0-9]*)"?\s+AND\s+labels\s*=\s*"([^"]+)"\s*', jql)
        if not m:
            return Reply(
                400,
                self.error_body(
                    400, f"The fake understands only 'project = X AND labels = \"y\"' and the change-type "
                    f"window search, not: {jql}"
                ),
            )
        rows = [self._issue_view(i) for i in self.issues.values()
                if i["key"].startswith(m.group(1) + "-") and m.group(2) in i["fields"]["labels"]]  # fmt: skip
        return Reply(200, {"issues": rows[: data.get("maxResults") or 50], "isLast": True})

    def _search_by_type(self, m: re.Match, data: dict) -> Reply:
        project, issue_type, lo, hi = m.groups()
        # JQL dates are in the account's zone: the bot's is UTC. Jira's "created" text sorts as time in UTC.
        lo_text, hi_text = lo.replace(" ", "T"), hi.replace(" ", "T")
        rows = [i for i in self.issues.values() if i["key"].startswith(project + "-")
                and i["fields"]["issuetype"]["name"].lower() == issue_type.lower()
                and lo_text <= i["fields"]["created"][:16] <= hi_text]  # fmt: skip
        rows.sort(key=lambda i: i["fields"]["created"], reverse=True)
        limit = data.get("maxResults") or 50
        return Reply(200, {"issues": [self._issue_view(i) for i in rows[:limit]], "isLast": len(rows) <= limit})

    def add_made_elsewhere(self, issue_type: str, summary: str, *, created: str, status: str = "To Do",
                           components: tuple[str, ...] = (), project: str = PROJECT) -> str:  # fmt: skip
        """An issue a person made in Jira (a Problem, a Change): `created` as Jira writes it."""
        with self.lock:
            key = f"{project}-{next(self._numbers)}"
            self.issues[key] = {
                "id": str(next(self._ids)), "key": key, "properties": {},
                "fields": {"summary": summary, "description": None, "labels": [], "priority": None,
                           "components": [{"name": c} for c in components], "status": status,
                           "issuetype": {"name": issue_type}, "created": created, "updated": created,
                           "duedate": None, "assignee": None},
            }  # fmt: skip
            return key

    def _issue_op(self, method, rest, issue, data, query) -> Reply:
        key = issue["key"]
        if not rest and method == "GET":
            return Reply(200, self._issue_view(issue))
        if not rest and method == "PUT":
            fields = (data or {}).get("fields") or {}
            if "priority" in fields and fields["priority"].get("name") not in PRIORITIES:
                return Reply(
                    400, {"errorMessages": [], "errors": {"priority": "The priority selected is invalid."}}
                )
            if "description" in fields:
                self._check_adf(fields["description"], "fields.description")
            issue["fields"].update(fields)
            issue["fields"]["updated"] = now_iso()
            return Reply(204, None)
        if rest == ["transitions"] and method == "GET":
            ts = [{"id": tid, "name": name, "to": {"name": to, "statusCategory": {"key": CATEGORY[to]}}, "hasScreen": False,
                   "isAvailable": True} for tid, name, to in WORKFLOW[issue["fields"]["status"]]]  # fmt: skip
            return Reply(200, {"transitions": ts})
        if rest == ["transitions"] and method == "POST":
            tid = ((data or {}).get("transition") or {}).get("id")
            allowed = {t[0]: t[2] for t in WORKFLOW[issue["fields"]["status"]]}
            if tid not in allowed:
                return Reply(400, self.error_body(400, f"Transition id '{tid}' is not valid for this issue."))
            issue["fields"]["status"] = allowed[tid]
            issue["fields"]["updated"] = now_iso()
            return Reply(204, None)
        if rest == ["comment"] and method == "GET":
            rows = list(self.comments.get(key, []))
            if (query.get("orderBy") or [""])[0] == "-created":
                rows.reverse()
            return Reply(200, {"startAt": 0, "maxResults": 100, "total": len(rows), "comments": rows[:100]})
        if rest == ["comment"] and method == "POST":
            self._check_adf(data.get("body"), "comment body")
            return Reply(201, self._comment(key, self.bot, data["body"]))
        return Reply(404, self.error_body(404, "Not found"))

    def _comment(self, key: str, author: dict, body: dict) -> dict:
        c = {"id": str(next(self._ids)), "self": f"{self.url}/rest/api/3/issue/{key}/comment", "author": author,
             "body": body, "created": now_iso(), "updated": now_iso(), "jsdPublic": True}  # fmt: skip
        self.comments.setdefault(key, []).append(c)
        return c

    # -- things people do in Jira (for pull tests) ---------------------------------------
    def add_comment_as(self, key: str, name: str, text: str) -> dict:
        doc = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }
        with self.lock:
            return self._comment(key, {"accountId": f"acc-{name}", "displayName": name}, doc)

    def move(self, key: str, status: str) -> None:
        with self.lock:
            self.issues[key]["fields"]["status"] = status
            self.issues[key]["fields"]["updated"] = now_iso()
