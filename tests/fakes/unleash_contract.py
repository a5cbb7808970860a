"""What Unleash's admin API accepts for the calls Sitrep makes, from its API reference (Admin API ▸ Features):
GET /api/admin/projects/{projectId}/features (a project's flags, `{"version", "features": [...]}`, each flag
with `environments: [{name, enabled, type, ...}]`), GET /api/admin/projects/{projectId}/features/{featureName}
(one flag, the same shape), GET .../features/{featureName}/environments/{environment} (one environment of a
flag) and POST .../features/{featureName}/environments/{environment}/on | /off (no body; 200 with an empty
body). Every admin call carries an API token (an admin token or a personal access token) in the
Authorization header; a missing or unknown one is 401, a flag or environment that does not exist is 404.
Errors are `{"id", "name", "message", "details"?}`."""

from __future__ import annotations

from tests.fakes.contract import Contract, Operation

API = "/api/admin/projects"
FEATURE = f"{API}/{{projectId}}/features/{{featureName}}"

CONTRACT = Contract(
    "Unleash",
    [
        Operation("GET", f"{API}/{{projectId}}/features"),
        Operation("GET", FEATURE),
        Operation("GET", f"{FEATURE}/environments/{{environment}}"),
        Operation("POST", f"{FEATURE}/environments/{{environment}}/on"),
        Operation("POST", f"{FEATURE}/environments/{{environment}}/off"),
    ],
    headers={"Accept": r"application/json.*"},
)
