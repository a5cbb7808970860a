"""ServiceNow's Table API on loopback: change_request (create, query) and cmdb_ci (query), with Basic auth
and the encoded queries Sitrep uses (field=value, joined by ^). Anything else is refused."""

from __future__ import annotations

import base64
import itertools
import json

from tests.fakes import servicenow_contract as contract
from tests.fakes.server import FakeServer, Reply

USER = "sitrep.integration"
PASSWORD = "snow-test-password-0001"
TABLES = ("change_request", "cmdb_ci")
CHANGE_TYPES = ("normal", "standard", "emergency")


class FakeServiceNow(FakeServer):
    label = "ServiceNow"

    def __init__(self) -> None:
        super().__init__()
        self._numbers = itertools.count(1001)
        self._ids = itertools.count(1)
        self.tables: dict[str, list[dict]] = {t: [] for t in TABLES}
        for name in ("payments-api", "payments-db-eu", "card-gateway"):
            self.tables["cmdb_ci"].append({"sys_id": self._sys_id(), "name": name})

    def _sys_id(self) -> str:
        return f"{next(self._ids):032x}"

    @property
    def changes(self) -> list[dict]:
        return self.tables["change_request"]

    def ci_name(self, sys_id: str) -> str | None:
        return next((c["name"] for c in self.tables["cmdb_ci"] if c["sys_id"] == sys_id), None)

    def error_body(self, status: int, message: str):
        return {"error": {"message": message, "detail": None}, "status": "failure"}

    def validate(self, method, path, query, headers, body) -> None:
        contract.CONTRACT.check(method, path, query, headers, body)

    def handle(self, method, path, query, headers, body) -> Reply:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if headers.get("Authorization") != expected:
            return Reply(401, {"error": {"message": "User Not Authenticated",
                                         "detail": "Required to provide Auth information"}, "status": "failure"})  # fmt: skip
        table = path.removeprefix(contract.API + "/")
        if table not in TABLES:
            return Reply(400, self.error_body(400, f"Invalid table {table}"))
        with self.lock:
            if method == "POST":
                return self._create(table, json.loads(body))
            return self._query(table, query)

    def _create(self, table: str, record: dict) -> Reply:
        if table != "change_request":
            return Reply(403, self.error_body(403, "Operation Failed: not permitted for this user"))
        if record.get("type") not in CHANGE_TYPES:
            return Reply(400, self.error_body(400, f"Invalid change type {record.get('type')!r}"))
        if "cmdb_ci" in record and self.ci_name(record["cmdb_ci"]) is None:
            return Reply(400, self.error_body(400, "Invalid reference: cmdb_ci"))
        row = {**record, "sys_id": self._sys_id(), "number": f"CHG{next(self._numbers):07d}"}
        self.tables[table].append(row)
        return Reply(201, {"result": row})

    def _query(self, table: str, query) -> Reply:
        rows = self.tables[table]
        for term in (query.get("sysparm_query") or [""])[0].split("^"):
            if not term:
                continue
            field, sep, value = term.partition("=")
            if not sep:
                return Reply(400, self.error_body(400, f"The fake understands only field=value terms, not {term}"))
            rows = [r for r in rows if r.get(field) == value]
        limit = int((query.get("sysparm_limit") or ["10000"])[0])
        fields = [f for f in (query.get("sysparm_fields") or [""])[0].split(",") if f]
        out = [{k: v for k, v in r.items() if not fields or k in fields} for r in rows[:limit]]
        return Reply(200, {"result": out})
