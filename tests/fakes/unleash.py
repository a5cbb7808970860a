"""Unleash's admin API on loopback: a project's flags with their state per environment, one flag, and
switching one on or off in one environment. The token is checked (401 without it or with another), unknown
projects, flags and environments are 404, and anything outside the contract is refused."""

from __future__ import annotations

import itertools
from urllib.parse import unquote

from tests.fakes import unleash_contract as contract
from tests.fakes.server import FakeServer, Reply

TOKEN = "*:*.unleash-test-admin-token-0001"
PROJECT = "default"
ENVIRONMENTS = ("development", "staging", "production")
ENV_TYPES = {"development": "development", "staging": "test", "production": "production"}


class FakeUnleash(FakeServer):
    label = "Unleash"

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        # project -> flag name -> {"description", "type", "stale", "environments": {env: enabled}}
        self.projects: dict[str, dict[str, dict]] = {PROJECT: {}}
        self.add_flag("payments.new-3ds-flow", "New 3-D Secure challenge flow", on_in=ENVIRONMENTS)
        self.add_flag("payments.smart-retry", "Retry declined authorisations once", on_in=("production",))
        self.add_flag("checkout.express-pay", "Express pay button", on_in=())

    def add_flag(self, name: str, description: str, *, on_in=(), project: str = PROJECT) -> None:
        self.projects.setdefault(project, {})[name] = {
            "description": description, "type": "kill-switch", "stale": False,
            "environments": {env: env in on_in for env in ENVIRONMENTS},
        }

    def enabled(self, name: str, environment: str, project: str = PROJECT) -> bool:
        return self.projects[project][name]["environments"][environment]

    def error_body(self, status: int, message: str):
        names = {400: "BadDataError", 401: "AuthenticationRequired", 403: "NoAccessError", 404: "NotFoundError"}
        return {"id": f"err-{next(self._ids)}", "name": names.get(status, "UnknownError"), "message": message}

    def validate(self, method, path, query, headers, body) -> None:
        contract.CONTRACT.check(method, path, query, headers, body)

    def handle(self, method, path, query, headers, body) -> Reply:
        token = headers.get("Authorization")
        if not token:
            return Reply(401, self.error_body(401, "You must log in to use Unleash: the request had no "
                                                   "Authorization header."))  # fmt: skip
        if token != TOKEN:
            return Reply(401, self.error_body(401, "The provided API token is invalid or has expired."))
        parts = [unquote(p) for p in path.removeprefix(contract.API + "/").split("/")]
        project, rest = parts[0], parts[1:]
        with self.lock:
            flags = self.projects.get(project)
            if flags is None:
                return Reply(404, self.error_body(404, f"Could not find project with id {project}"))
            if rest == ["features"]:
                return Reply(200, {"version": 2, "features": [self._feature(project, n) for n in sorted(flags)]})
            name = rest[1]
            if name not in flags:
                return Reply(404, self.error_body(404, f"Could not find feature flag with name {name}"))
            if len(rest) == 2:
                return Reply(200, self._feature(project, name))
            env = rest[3]
            if env not in flags[name]["environments"]:
                return Reply(404, self.error_body(404, f"Could not find environment {env} for feature {name}"))
            if len(rest) == 4:
                return Reply(200, self._environment(project, name, env) | {"featureName": name})
            flags[name]["environments"][env] = rest[4] == "on"
            return Reply(200, None)

    def _environment(self, project: str, name: str, env: str) -> dict:
        enabled = self.projects[project][name]["environments"][env]
        return {"name": env, "environment": env, "type": ENV_TYPES[env], "enabled": enabled,
                "sortOrder": ENVIRONMENTS.index(env), "variantCount": 0, "strategies": []}  # fmt: skip

    def _feature(self, project: str, name: str) -> dict:
        flag = self.projects[project][name]
        return {"name": name, "project": project, "description": flag["description"], "type": flag["type"],
                "stale": flag["stale"], "impressionData": False, "archived": False,
                "environments": [self._environment(project, name, env) for env in ENVIRONMENTS]}  # fmt: skip
