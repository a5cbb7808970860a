"""What Jira Cloud's REST API v3 accepts, from its reference pages (and the Atlassian Document Format's).

Every request says `Accept: application/json`; bodies are JSON. A new issue names its project, issue
type and a summary of at most 255 characters; rich text (descriptions, comments) is an ADF document:
{"type": "doc", "version": 1, "content": [blocks]}, a paragraph holding inline nodes (text with
non-empty text, hard breaks). Comments page with startAt/maxResults and order by created.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.contract import (
    ANY_OBJECT,
    BOOL,
    INT,
    NONEMPTY,
    STR,
    Contract,
    Operation,
    Param,
    RequestInvalid,
    array,
    obj,
    text,
)  # fmt: skip

API = "/rest/api/3"
_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote", "rule",
           "panel", "table", "tableRow", "tableCell", "tableHeader", "mediaGroup", "mediaSingle", "media"}  # fmt: skip
_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}


def check_adf(doc: Any, what: str) -> None:
    """An Atlassian Document as Jira takes it (the shape of the published ADF schema, briefly)."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        raise RequestInvalid(f"{what} is not an ADF document (type doc, version 1)")
    content = doc.get("content")
    if not isinstance(content, list):
        raise RequestInvalid(f"{what}: a document's content must be a list")
    for node in content:
        _check_node(node, what, block=True)


def _check_node(node: Any, what: str, *, block: bool) -> None:
    kinds = _BLOCKS if block else _INLINE
    kind = node.get("type") if isinstance(node, dict) else None
    if kind not in kinds:
        raise RequestInvalid(f"{what}: {kind!r} is not an ADF {'block' if block else 'inline'} node")
    if kind == "text" and not (isinstance(node.get("text"), str) and node["text"]):
        raise RequestInvalid(f"{what}: a text node needs non-empty text")
    children = node.get("content")
    if children is None:
        return
    if not isinstance(children, list):
        raise RequestInvalid(f"{what}: content of a {kind} must be a list")
    for child in children:
        _check_node(child, what, block=kind not in ("paragraph", "heading"))


def _id_or(name: str) -> dict[str, Any]:
    return {"type": "object", "anyOf": [{"required": [name]}, {"required": ["id"]}],
            "properties": {name: NONEMPTY, "id": NONEMPTY}}  # fmt: skip


def _new_issue(body: dict) -> None:
    if "description" in body["fields"]:
        check_adf(body["fields"]["description"], "fields.description")


def _edit(body: dict) -> None:
    if "description" in (body.get("fields") or {}):
        check_adf(body["fields"]["description"], "fields.description")


def _comment(body: dict) -> None:
    check_adf(body["body"], "comment body")


_LABEL = {"type": "string", "pattern": r"^\S+$", "maxLength": 255}
_ISSUE_FIELDS = obj(
    {"project": _id_or("key"), "issuetype": _id_or("name"), "summary": text(255, min_length=1)},
    {"description": ANY_OBJECT, "labels": array(_LABEL), "priority": _id_or("name"),
     "components": array(_id_or("name")), "duedate": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
     "assignee": obj({"accountId": NONEMPTY})},
)  # fmt: skip

CONTRACT = Contract("Jira", [
    Operation("GET", f"{API}/myself", query={"expand": Param()}),
    Operation("GET", f"{API}/project/{{key}}", query={"expand": Param(), "properties": Param()}),
    Operation("POST", f"{API}/issue", query={"updateHistory": Param("boolean")}, check=_new_issue,
              body=obj({"fields": _ISSUE_FIELDS}, {"update": ANY_OBJECT, "properties": array(
                  obj({"key": text(255, min_length=1), "value": {}}))})),
    Operation("GET", f"{API}/issue/{{key}}", query={"fields": Param(), "expand": Param(), "properties": Param(),
              "fieldsByKeys": Param("boolean"), "updateHistory": Param("boolean")}),  # fmt: skip
    Operation("PUT", f"{API}/issue/{{key}}", check=_edit, body=obj({}, {"fields": ANY_OBJECT, "update": ANY_OBJECT}),
              query={"notifyUsers": Param("boolean"), "returnIssue": Param("boolean"), "expand": Param()}),
    Operation("GET", f"{API}/issue/{{key}}/transitions", query={"expand": Param(), "transitionId": Param(),
              "includeUnavailableTransitions": Param("boolean")}),  # fmt: skip
    Operation("POST", f"{API}/issue/{{key}}/transitions",
              body=obj({"transition": obj({"id": NONEMPTY})}, {"fields": ANY_OBJECT, "update": ANY_OBJECT})),
    Operation("GET", f"{API}/issue/{{key}}/comment", query={
        "startAt": Param("integer", minimum=0), "maxResults": Param("integer", minimum=0, maximum=5000),
        "orderBy": Param(values=("created", "-created", "+created")), "expand": Param()}),
    Operation("POST", f"{API}/issue/{{key}}/comment", check=_comment,
              body=obj({"body": ANY_OBJECT}, {"visibility": ANY_OBJECT, "properties": array(ANY_OBJECT)})),
    Operation("POST", f"{API}/issueLink", body=obj(
        {"type": _id_or("name"), "inwardIssue": _id_or("key"), "outwardIssue": _id_or("key")},
        {"comment": ANY_OBJECT})),
    # Users by e-mail or name (the assignee of an action item's issue); a list, not a page.
    Operation("GET", f"{API}/user/search", query={"query": Param(), "accountId": Param(), "property": Param(),
              "startAt": Param("integer", minimum=0), "maxResults": Param("integer", minimum=0, maximum=1000)}),
    Operation("POST", f"{API}/search/jql", body=obj({"jql": NONEMPTY}, {
        "fields": array(STR), "maxResults": {**INT, "minimum": 0, "maximum": 5000}, "nextPageToken": STR,
        "expand": STR, "properties": array(STR), "fieldsByKeys": BOOL, "reconcileIssues": array(INT)})),
], headers={"Accept": "application/json"})  # fmt: skip

