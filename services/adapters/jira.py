"""Jira Cloud REST v3: an incident ticket per incident, comments, transitions, priority, links.

Creating an issue is not idempotent in Jira. Each ticket carries a label naming the Sitrep incident
(and an issue property with its id); before creating again after an uncertain failure the adapter
searches for that label.

One module per outside system (docs/adapters.md), so this file is over 500 lines: the ticket, its comments,
transitions and links, and the post-incident action items' issues share one field mapping and one set of calls.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from models.enums import EntryKind
from services.adapters.common import (
    entry_text,
    is_authored,
    is_from_a_backend,
    normalise_text,
    parse_remote_time,
)
from services.adapters.failures import NotConfigured, PermanentFailure
from services.adapters.http import Http, parse_reset_instant
from services.adapters.interface import (
    Adapter,
    HttpApi,
    LinksRelated,
    Posts,
    ReadsBack,
    SecretField,
    SettingField,
)
from services.adapters.jira_itil import ITIL_FIELDS, JiraItil
from services.adapters.values import (
    ChangeToPlan,
    NewLink,
    Planned,
    PullContext,
    PullResult,
    RemoteEvent,
    SendContext,
    SendResult,
)

API = "/rest/api/3"


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document: a paragraph per blank-line block, hard breaks between lines."""
    paragraphs = []
    for block in (text or "").split("\n\n"):
        content: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content} if content else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(doc: Any) -> str:
    """The text of an ADF document (for matching a comment against one we sent)."""
    if not isinstance(doc, dict):
        return str(doc or "")
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(str(node.get("text", "")))
            elif node.get("type") == "hardBreak":
                out.append("\n")
            for child in node.get("content") or []:
                walk(child)
            if node.get("type") == "paragraph":
                out.append("\n\n")

    walk(doc)
    return "".join(out).strip()


class JiraAdapter(Adapter, HttpApi, Posts, ReadsBack, LinksRelated, JiraItil):
    name = "jira"
    label = "Jira"
    default_max_requests_per_s = 5.0
    post_becomes = "a comment on the Jira ticket"
    fields = (
        SettingField("url", "Site URL (https://your-site.atlassian.net)", "url", None, required=True),
        SettingField("email", "Account e-mail the API token belongs to", "str", None, required=True),
        SettingField("project_key", "Project key", "str", None, required=True),
        SettingField("issue_type", "Issue type", "str", "Incident"),
        SettingField(
            "priority_map",
            "Priority for each severity",
            "map",
            {"SEV1": "Highest", "SEV2": "High", "SEV3": "Medium", "SEV4": "Low", "SEV5": "Lowest"},
        ),  # fmt: skip
        SettingField(
            "status_map",
            "Jira status for each Sitrep status",
            "map",
            {
                "investigating": "In Progress",
                "identified": "In Progress",
                "mitigated": "In Progress",
                "resolved": "Done",
                "closed": "Done",
            },
        ),  # fmt: skip
        SettingField("labels", "Labels on every ticket", "list", ["incident"]),
        SettingField("component_map", "Jira component for each impacted service", "map", {}),
        SettingField("comment_kinds", "Entry kinds sent as comments", "list", ["decision", "role_change"]),
        SettingField("link_type", "Link type for related issues", "str", "Relates"),
        SettingField("action_issue_type", "Issue type for post-incident action items", "str", "Task"),
        SettingField(
            "action_priority_map",
            "Jira priority for each action item priority",
            "map",
            {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"},
        ),  # fmt: skip
        SettingField(
            "action_status_map",
            "Jira status for each action item status",
            "map",
            {"open": "To Do", "in_progress": "In Progress", "done": "Done", "wont_do": "Done"},
        ),  # fmt: skip
        *ITIL_FIELDS,
    )
    secrets = (SecretField("api_token", "API token"),)

    def base_url(self) -> str:
        return str(self.setting("url") or "").rstrip("/")

    def headers(self) -> dict[str, str]:
        pair = f"{self.setting('email')}:{self.secret('api_token')}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict):
            parts = [str(m) for m in body.get("errorMessages") or []]
            parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
            if parts:
                return "; ".join(parts)
        return text.strip() or f"HTTP {status}"

    def pace_hint(self, headers, status: int) -> float | None:
        if status == 429 or headers.get("X-RateLimit-Remaining", "").strip() == "0":
            return parse_reset_instant(headers.get("X-RateLimit-Reset")) or 1.0
        if headers.get("X-RateLimit-NearLimit", "").strip().lower() == "true":
            return 0.5  # under 20 % of the budget left: slow down before Jira makes us
        return None

    related_label = "Jira issue"

    def related_ref_problem(self, ref: str) -> str | None:
        """Why `ref` cannot name a Jira issue to link, or None."""
        if not ISSUE_KEY.fullmatch(ref):
            return f"'{ref}' is not a Jira issue key (like OPS-123)."
        return None

    def browse_url(self, key: str) -> str:
        return f"{self.base_url()}/browse/{key}"

    # -- planning ------------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        if is_from_a_backend(change):
            return []
        inc, e, data = change.incident, change.entry, change.data
        key = f"{self.name}:{e.id}"
        if isinstance(data.get("action_item"), dict):
            return self._plan_action_item(inc, data["action_item"], key)
        if e.kind == EntryKind.STATUS_CHANGE.value and data.get("action") == "declared":
            facts = {
                "title": f"[{inc.key}] {inc.title}",
                "summary": inc.summary,
                "severity": inc.severity,
                "services": list(inc.services),
                "label": incident_label(inc.id),
                "incident_ref": inc.key,
            }
            return [Planned("create_issue", facts, f"{self.name}:create:{inc.id}")]
        if e.kind == EntryKind.STATUS_CHANGE.value:
            smap = self.setting("status_map") or {}
            if smap.get(data.get("to")) and smap.get(data.get("to")) != smap.get(data.get("from")):
                return [Planned("transition", {"to": data.get("to"), "status": smap[data["to"]]}, key)]
            return []
        if e.kind == EntryKind.SEVERITY_CHANGE.value:
            return [Planned("set_priority", {"severity": data.get("to")}, key)]
        if e.kind == EntryKind.IMPACT_CHANGE.value:
            changes = data.get("changes") or {}
            fields = {}
            if "title" in changes:
                fields["title"] = f"[{inc.key}] {changes['title']['to']}"
            if "summary" in changes:
                fields["summary"] = changes["summary"]["to"] or ""
            return [Planned("update_fields", fields, key)] if fields else []
        if (data.get("sync_link") or {}).get(self.name):
            return [Planned("link_issue", {"issue": data["sync_link"][self.name]}, key)]
        kinds = self.setting("comment_kinds")
        if (is_authored(change) or e.kind == EntryKind.ROLE_CHANGE.value) and change.chosen_for(
            self.name, kinds
        ):
            return [Planned("comment", {"text": entry_text(change)}, key)]
        return []

    def _plan_action_item(self, inc, item: dict[str, Any], key: str) -> list[Planned]:
        """A post-incident action item: one Jira issue per item, linked to the incident's ticket."""
        op = item.get("op")
        if op == "added":
            payload = {k: item.get(k) for k in ("id", "key", "title", "category", "priority", "owner_name",
                                                "owner_email", "due_on", "status")}  # fmt: skip
            payload.update(incident_ref=inc.key, label=action_label(item["id"]))
            return [Planned("create_action_issue", payload, f"{self.name}:create-action:{item['id']}")]
        if op == "status":
            target = (self.setting("action_status_map") or {}).get(item.get("status"))
            if not target:
                return []
            return [Planned("transition_action", {"id": item["id"], "key": item.get("key"), "status": target}, key)]
        if op == "updated":
            fields = {k: item.get(k) for k in ("id", "key", "title", "priority", "owner_email", "due_on")}
            plans = [Planned("update_action", fields, key)]
            target = (self.setting("action_status_map") or {}).get(item.get("status"))
            if "status" in (item.get("changed") or ()) and target:
                plans.append(Planned("transition_action", {"id": item["id"], "key": item.get("key"),
                                                           "status": target}, key + ":status"))  # fmt: skip
            return plans
        return []

    # -- sending -------------------------------------------------------------------------
    def send(self, ctx: SendContext) -> SendResult:
        op, p, http = ctx.item.op, ctx.item.payload, ctx.http
        if op == "create_issue":
            return self._create_issue(ctx)
        if op in ("create_action_issue", "transition_action", "update_action"):
            return self._send_action(ctx)
        issue = self._remote_issue(ctx)
        if op == "transition":
            return self._transition(http, issue, p["status"])
        if op == "set_priority":
            name = (self.setting("priority_map") or {}).get(p.get("severity"))
            if not name:
                return SendResult(remote_ref=issue, note="no priority is mapped for this severity")
            http.request("PUT", f"{API}/issue/{issue}", json_body={"fields": {"priority": {"name": name}}})
            return SendResult(remote_ref=issue)
        if op == "update_fields":
            fields: dict[str, Any] = {}
            if "title" in p:
                fields["summary"] = p["title"][:255]
            if "summary" in p:
                fields["description"] = adf(p["summary"] or "(no summary)")
            http.request("PUT", f"{API}/issue/{issue}", json_body={"fields": fields})
            return SendResult(remote_ref=issue)
        if op == "comment":
            return self._comment(ctx, issue)
        if op == "link_issue":
            body = {"type": {"name": self.setting("link_type")}, "inwardIssue": {"key": issue},
                    "outwardIssue": {"key": p["issue"]}}  # fmt: skip
            http.request("POST", f"{API}/issueLink", json_body=body)  # a repeated link is not duplicated
            link = NewLink("entry", ctx.item.entry_id, ctx.item.incident_id, "related_issue", f"{issue}>{p['issue']}",
                           url=self.browse_url(p["issue"]))  # fmt: skip
            return SendResult(remote_ref=p["issue"], links=[link] if ctx.item.entry_id else [])
        raise PermanentFailure(f"Jira does not know the operation '{op}'.")

    def _action_issue(self, ctx: SendContext) -> str:
        link = ctx.links.local_link("action_item", ctx.item.payload["id"], "action_issue")
        if link is None:
            raise PermanentFailure(f"Action item {ctx.item.payload.get('key')} has no Jira issue yet (its creation "
                                   "did not go through); retry or cancel that first.")  # fmt: skip
        return link.remote_id

    def _account_for(self, http: Http, email: str | None) -> str | None:
        """The Jira account of a directory e-mail (assignee), or None when Jira knows nobody by it."""
        if not email:
            return None
        reply = http.request("GET", f"{API}/user/search", params={"query": email, "maxResults": 2})
        users = [u for u in (reply.body or []) if isinstance(u, dict)] if isinstance(reply.body, list) else []
        exact = [u for u in users if str(u.get("emailAddress", "")).lower() == email.lower()]
        chosen = (exact or users[:1] or [None])[0]
        return chosen.get("accountId") if chosen else None

    def _send_action(self, ctx: SendContext) -> SendResult:
        http, p, op = ctx.http, ctx.item.payload, ctx.item.op
        if op == "transition_action":
            issue = self._action_issue(ctx)
            result = self._transition(http, issue, p["status"])
            state = next(iter(result.link_states.values()), None)  # _transition names the incident's kind
            result.link_states = {("action_issue", issue): state} if state else {}
            return result
        if op == "update_action":
            issue = self._action_issue(ctx)
            fields: dict[str, Any] = {"summary": f"[{p['key']}] {p['title']}"[:255], "duedate": p.get("due_on")}
            priority = (self.setting("action_priority_map") or {}).get(p.get("priority"))
            if priority:
                fields["priority"] = {"name": priority}
            account = self._account_for(http, p.get("owner_email"))
            fields["assignee"] = {"accountId": account} if account else None
            http.request("PUT", f"{API}/issue/{issue}", json_body={"fields": fields})
            return SendResult(remote_ref=issue)
        found = self._find_by_label(http, p["label"]) if ctx.maybe_sent_before else None
        note = ""
        if found is None:
            owner = f"{p.get('owner_name') or '-'}" + (f" <{p['owner_email']}>" if p.get("owner_email") else "")
            description = (f"Post-incident action item {p['key']} from {p['incident_ref']}.\n\n"
                           f"Category: {p['category']}\nPriority: {p['priority']}\nOwner: {owner}\n"
                           f"Due: {p.get('due_on') or '-'}")  # fmt: skip
            fields = {
                "project": {"key": self.setting("project_key")},
                "issuetype": {"name": self.setting("action_issue_type")},
                "summary": f"[{p['key']}] {p['title']}"[:255],
                "description": adf(description),
                "labels": ["sitrep-action", p["label"]],
            }
            priority = (self.setting("action_priority_map") or {}).get(p.get("priority"))
            if priority:
                fields["priority"] = {"name": priority}
            if p.get("due_on"):
                fields["duedate"] = p["due_on"]
            account = self._account_for(http, p.get("owner_email"))
            if account:
                fields["assignee"] = {"accountId": account}
            elif p.get("owner_email"):
                note = f"Jira knows no user {p['owner_email']}: the issue is unassigned. "
            body = {"fields": fields, "properties": [{"key": "sitrep", "value": {"action_item_id": p["id"],
                                                                                 "key": p["key"]}}]}  # fmt: skip
            found = http.request("POST", f"{API}/issue", json_body=body, ok=(201,)).body or {}
        key = found.get("key")
        if not key:
            raise PermanentFailure("Jira created the action item's issue but did not say its key.")
        ticket = ctx.links.incident_link(ctx.item.incident_id, "issue")
        if ticket is not None:
            link = {"type": {"name": self.setting("link_type")}, "inwardIssue": {"key": ticket.remote_id},
                    "outwardIssue": {"key": key}}  # fmt: skip
            http.request("POST", f"{API}/issueLink", json_body=link)  # a repeated link is not duplicated
        else:
            note += "Not linked: the incident has no Jira ticket."
        status = ((found.get("fields") or {}).get("status") or {}).get("name") or "To Do"
        made = NewLink("action_item", p["id"], ctx.item.incident_id, "action_issue", key, url=self.browse_url(key),
                       remote_state=status)  # fmt: skip
        return SendResult(remote_ref=key, links=[made], note=note.strip())

    def _remote_issue(self, ctx: SendContext) -> str:
        link = ctx.links.incident_link(ctx.item.incident_id, "issue")
        if link is None:
            raise PermanentFailure(
                f"Jira has no ticket for {ctx.item.incident_key or 'this incident'} (its creation did not go "
                "through); retry or cancel that first."
            )
        return link.remote_id

    def _find_by_label(self, http: Http, label: str) -> dict | None:
        jql = f'project = "{self.setting("project_key")}" AND labels = "{label}"'
        reply = http.request(
            "POST",
            f"{API}/search/jql",
            json_body={"jql": jql, "fields": ["summary", "status"], "maxResults": 2},
        )
        issues = (reply.body or {}).get("issues") or []
        return issues[0] if issues else None

    def _create_issue(self, ctx: SendContext) -> SendResult:
        http, p = ctx.http, ctx.item.payload
        found = self._find_by_label(http, p["label"]) if ctx.maybe_sent_before else None
        if found is None:
            description = p.get("summary") or "(no summary yet)"
            description += (
                f"\n\nSeverity: {p.get('severity')}\nServices: {', '.join(p.get('services') or []) or '-'}"
            )
            description += f"\nSitrep incident: {p.get('incident_ref')}"
            fields: dict[str, Any] = {
                "project": {"key": self.setting("project_key")},
                "issuetype": {"name": self.setting("issue_type")},
                "summary": p["title"][:255],
                "description": adf(description),
                "labels": list(dict.fromkeys([*(self.setting("labels") or []), p["label"]])),
            }
            priority = (self.setting("priority_map") or {}).get(p.get("severity"))
            if priority:
                fields["priority"] = {"name": priority}
            cmap = self.setting("component_map") or {}
            components = [cmap[s] for s in p.get("services") or [] if s in cmap]
            if components:
                fields["components"] = [{"name": c} for c in dict.fromkeys(components)]
            body = {
                "fields": fields,
                "properties": [
                    {
                        "key": "sitrep",
                        "value": {"incident_id": ctx.item.incident_id, "key": p.get("incident_ref")},
                    }
                ],
            }
            reply = http.request("POST", f"{API}/issue", json_body=body, ok=(201,))
            found = reply.body or {}
        key = found.get("key")
        if not key:
            raise PermanentFailure("Jira created the ticket but did not say its key.")
        status = ((found.get("fields") or {}).get("status") or {}).get("name")
        link = NewLink("incident", ctx.item.incident_id, ctx.item.incident_id, "issue", key,
                       url=self.browse_url(key), remote_state=status)  # fmt: skip
        return SendResult(remote_ref=key, links=[link])

    def _transition(self, http: Http, issue: str, target: str) -> SendResult:
        reply = http.request("GET", f"{API}/issue/{issue}", params={"fields": "status"})
        current = (((reply.body or {}).get("fields") or {}).get("status") or {}).get("name")
        if current and current.lower() == target.lower():
            return SendResult(remote_ref=issue, link_states={("issue", issue): current}, note="already there")
        reply = http.request("GET", f"{API}/issue/{issue}/transitions")
        transitions = (reply.body or {}).get("transitions") or []
        chosen = next(
            (t for t in transitions if str((t.get("to") or {}).get("name", "")).lower() == target.lower()),
            None,
        )
        chosen = chosen or next(
            (t for t in transitions if str(t.get("name", "")).lower() == target.lower()), None
        )
        if chosen is None:
            names = ", ".join(sorted({(t.get("to") or {}).get("name", "?") for t in transitions})) or "none"
            raise PermanentFailure(
                f"Jira {issue} cannot move from '{current}' to '{target}' (its workflow allows: {names}). "
                "Adjust the Jira status_map setting."
            )
        http.request(
            "POST", f"{API}/issue/{issue}/transitions", json_body={"transition": {"id": chosen["id"]}}
        )
        return SendResult(
            remote_ref=issue, link_states={("issue", issue): (chosen.get("to") or {}).get("name", target)}
        )

    def _comment(self, ctx: SendContext, issue: str) -> SendResult:
        http, text = ctx.http, ctx.item.payload["text"]
        comment = None
        if ctx.maybe_sent_before:
            reply = http.request(
                "GET", f"{API}/issue/{issue}/comment", params={"orderBy": "-created", "maxResults": 100}
            )
            for c in (reply.body or {}).get("comments") or []:
                if normalise_text(adf_text(c.get("body"))) == normalise_text(text):
                    comment = c
                    break
        if comment is None:
            reply = http.request(
                "POST", f"{API}/issue/{issue}/comment", json_body={"body": adf(text)}, ok=(201,)
            )
            comment = reply.body or {}
        cid = comment.get("id")
        links = (
            [NewLink("entry", ctx.item.entry_id, ctx.item.incident_id, "comment", cid)]
            if cid and ctx.item.entry_id
            else []
        )
        return SendResult(remote_ref=cid, links=links)

    # -- pulling -------------------------------------------------------------------------
    def pull(self, ctx: PullContext) -> PullResult:
        out = PullResult()
        http = ctx.http
        for link in ctx.links.linked_incidents("issue"):
            issue, local = link.remote_id, link.incident_id
            reply = http.request(
                "GET", f"{API}/issue/{issue}", params={"fields": "status,updated"}, not_found_ok=True
            )
            if reply is None:
                continue
            fields = (reply.body or {}).get("fields") or {}
            status = (fields.get("status") or {}).get("name")
            if status:
                out.link_states[("issue", issue)] = status
                if link.remote_state and status.lower() != link.remote_state.lower():
                    out.events.append(RemoteEvent(
                        local, "status", f"{issue}:{status}:{fields.get('updated') or ctx.now.isoformat()}",
                        EntryKind.SYSTEM.value, f"Jira: {issue} moved from '{link.remote_state}' to '{status}'",
                        "Jira", parse_remote_time(fields.get("updated")), url=self.browse_url(issue),
                        data={"from": link.remote_state, "to": status},
                    ))  # fmt: skip
            known = ctx.links.known_remote_ids(local, "comment")
            own = {normalise_text(t) for t in ctx.links.own_texts(local)}
            reply = http.request(
                "GET", f"{API}/issue/{issue}/comment", params={"orderBy": "created", "maxResults": 100}
            )
            for c in (reply.body or {}).get("comments") or []:
                cid = c.get("id")
                text = adf_text(c.get("body"))
                if not cid or cid in known or normalise_text(text) in own:
                    continue
                who = (c.get("author") or {}).get("displayName") or "someone"
                out.events.append(RemoteEvent(
                    local, "comment", cid, EntryKind.NOTE.value, text, f"{who} (Jira)",
                    parse_remote_time(c.get("created")), url=f"{self.browse_url(issue)}?focusedCommentId={cid}",
                ))  # fmt: skip
        self._pull_action_items(ctx, out)
        return out

    def _pull_action_items(self, ctx: PullContext, out: PullResult) -> None:
        """A tracked action item whose issue moved in Jira: its status category says where it is now."""
        for link in ctx.links.linked_records("action_item", "action_issue"):
            issue = link.remote_id
            reply = ctx.http.request("GET", f"{API}/issue/{issue}", params={"fields": "status,updated"},
                                     not_found_ok=True)  # fmt: skip
            if reply is None:
                continue
            fields = (reply.body or {}).get("fields") or {}
            status = fields.get("status") or {}
            name = status.get("name")
            if not name:
                continue
            out.link_states[("action_issue", issue)] = name
            if link.remote_state and name.lower() != link.remote_state.lower():
                moved = ACTION_STATUS_OF_CATEGORY.get(str((status.get("statusCategory") or {}).get("key")))
                data: dict[str, Any] = {"from": link.remote_state, "to": name}
                if moved:
                    data["action_item_status"] = {"id": link.local_id, "status": moved}
                out.events.append(RemoteEvent(
                    link.incident_id, "action_status", f"{issue}:{name}:{fields.get('updated') or ctx.now.isoformat()}",
                    EntryKind.SYSTEM.value, f"Jira: action item issue {issue} moved from '{link.remote_state}' to "
                    f"'{name}'", "Jira", parse_remote_time(fields.get("updated")), url=self.browse_url(issue), data=data,
                ))  # fmt: skip

    def test_connection(self, http: Http) -> str:
        if not self.setting("project_key"):
            raise NotConfigured("Set the Jira project_key first.")
        me = http.request("GET", f"{API}/myself").body or {}
        project = http.request("GET", f"{API}/project/{self.setting('project_key')}", not_found_ok=True)
        if project is None:
            raise PermanentFailure(
                f"Jira has no project {self.setting('project_key')} visible to {me.get('displayName')}."
            )
        return f"Connected to Jira as {me.get('displayName')}; project {(project.body or {}).get('name')}."


ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9}")


# Jira's fixed status categories (every workflow's statuses fall in one) -> an action item's status.
ACTION_STATUS_OF_CATEGORY = {"new": "open", "indeterminate": "in_progress", "done": "done"}


def action_label(item_id: str) -> str:
    return f"sitrep-action-{item_id}"


def incident_label(incident_id: str) -> str:
    return f"sitrep-{incident_id}"
