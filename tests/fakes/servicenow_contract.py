"""What ServiceNow's Table API accepts, from its REST reference: GET /api/now/table/{tableName} (encoded query in
sysparm_query, sysparm_fields, sysparm_limit, sysparm_offset, sysparm_display_value true|false|all,
sysparm_exclude_reference_link) and POST /api/now/table/{tableName} (one record, a JSON object of field
names to values). Answers wrap records in {"result": ...}; errors are {"error": {"message", "detail"},
"status": "failure"}. Basic auth; JSON in and out."""

from __future__ import annotations

from tests.fakes.contract import Contract, Operation, Param

API = "/api/now/table"
_READ = {
    "sysparm_query": Param(), "sysparm_fields": Param(), "sysparm_limit": Param("integer", minimum=1),
    "sysparm_offset": Param("integer", minimum=0), "sysparm_display_value": Param(values=("true", "false", "all")),
    "sysparm_exclude_reference_link": Param("boolean"),
}  # fmt: skip
_WRITE = {"sysparm_display_value": Param(values=("true", "false", "all")), "sysparm_fields": Param(),
          "sysparm_input_display_value": Param("boolean"), "sysparm_exclude_reference_link": Param("boolean")}  # fmt: skip
_RECORD = {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}

CONTRACT = Contract(
    "ServiceNow",
    [
        Operation("GET", f"{API}/{{table}}", query=_READ),
        Operation("POST", f"{API}/{{table}}", query=_WRITE, body=_RECORD),
    ],
    headers={"Accept": r"application/json.*", "Authorization": r"Basic \S+"},
)
