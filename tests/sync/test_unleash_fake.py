"""The Unleash fake refuses what Unleash refuses: a method or path outside its contract, a missing or unknown
token (401), an unknown project, flag or environment (404). Tests built on it can therefore fail."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes import unleash as ful

FEATURE = "/api/admin/projects/default/features/payments.new-3ds-flow"


@pytest.fixture
def fake():
    fake = ful.FakeUnleash().start()
    yield fake
    fake.stop()


def _call(fake, method, path, token=ful.TOKEN):
    headers = {"Accept": "application/json"} | ({"Authorization": token} if token else {})
    return httpx.request(method, fake.url + path, headers=headers, timeout=5)


def test_token_missing_or_wrong_is_401(fake):
    assert _call(fake, "GET", FEATURE, token=None).status_code == 401
    answer = _call(fake, "POST", FEATURE + "/environments/production/off", token="*:*.guessed")
    assert answer.status_code == 401 and answer.json()["name"] == "AuthenticationRequired"
    assert fake.enabled("payments.new-3ds-flow", "production")


def test_unknown_project_flag_or_environment_is_404(fake):
    for path in ("/api/admin/projects/nope/features", "/api/admin/projects/default/features/nope",
                 FEATURE + "/environments/moon/off"):  # fmt: skip
        answer = _call(fake, "GET" if not path.endswith("/off") else "POST", path)
        assert answer.status_code == 404 and answer.json()["name"] == "NotFoundError", path


def test_outside_the_contract_is_refused_and_recorded(fake):
    assert _call(fake, "DELETE", FEATURE).status_code == 400
    assert _call(fake, "GET", FEATURE + "/environments/production/off").status_code == 400
    assert _call(fake, "POST", "/api/admin/features/payments.new-3ds-flow/toggle/off").status_code == 400
    assert len(fake.violations) == 3
    assert fake.enabled("payments.new-3ds-flow", "production")


def test_switching_and_reading_follow_the_documented_shapes(fake):
    assert _call(fake, "POST", FEATURE + "/environments/staging/off").status_code == 200
    envs = {e["name"]: e["enabled"] for e in _call(fake, "GET", FEATURE).json()["environments"]}
    assert envs == {"development": True, "staging": False, "production": True}
    one = _call(fake, "GET", FEATURE + "/environments/staging").json()
    assert one["enabled"] is False and one["name"] == "staging"
    listed = _call(fake, "GET", "/api/admin/projects/default/features").json()
    assert {f["name"] for f in listed["features"]} >= {"payments.new-3ds-flow", "checkout.express-pay"}
    assert fake.violations == []
