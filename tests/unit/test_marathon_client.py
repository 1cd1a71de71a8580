"""The Marathon client's narrow HTTP edges (`responses`): error bodies of each shape, auth errors,
the single-app answer. Against the simulator: tests/integration/test_marathon_client.py."""

from __future__ import annotations

import pytest
import responses

from fleetrewind.errors import AuthError, MarathonError, MarathonRejected
from fleetrewind.marathon.authmode import AuthMode
from fleetrewind.marathon.client import MarathonClient
from fleetrewind.secret import Secret
from fleetrewind.transport import TLS, Transport


APP_ID = "/ds/prod/shop/api"


OLD = "registry.example.com:5000/shop/api:515-master"


NEW = "registry.example.com:5000/shop/api:512-master"


USER, PASSWORD = "ops", "s3cret-marathon-pw"


def client_for(url: str, *, user: str | None = None, password: str | None = None, auth_mode: AuthMode = AuthMode.BASIC,
               timeout: float = 5.0) -> MarathonClient:
    transport = Transport(url, tls=TLS(), timeout=timeout, name="Marathon")
    return MarathonClient(transport, user=user, password=Secret(password) if password else None, auth_mode=auth_mode)


BASE = "http://marathon.test:8080"


APP = {"id": APP_ID, "container": {"type": "DOCKER", "docker": {"image": OLD}}, "version": "2026-11-19T10:00:00.000Z"}


@responses.activate
def test_a_400_whose_details_is_a_string_is_reported_with_it() -> None:
    responses.put(f"{BASE}/v2/apps{APP_ID}", status=400,
                  json={"message": "Invalid JSON", "details": "Unexpected end-of-input at line 1"})

    with pytest.raises(MarathonRejected) as info:
        client_for(BASE).update_image(APP, NEW)
    assert str(info.value) == (f"Marathon rejected the new definition of {APP_ID}: "
                               "Invalid JSON (Unexpected end-of-input at line 1)")


@responses.activate
def test_a_422_whose_details_is_a_list_names_each_path_and_error() -> None:
    responses.put(f"{BASE}/v2/apps{APP_ID}", status=422, json={
        "message": "Object is not valid",
        "details": [{"path": "/container/docker/image", "errors": ["must not be empty", "bad"]},
                    {"path": "/mem", "errors": ["error.expected.jsnumber"]}]})

    with pytest.raises(MarathonRejected) as info:
        client_for(BASE).update_image(APP, NEW)
    assert str(info.value).endswith("Object is not valid (/container/docker/image: must not be empty; bad, "
                                    "/mem: error.expected.jsnumber)")


@responses.activate
def test_a_non_json_error_body_is_shown_shortly() -> None:
    responses.put(f"{BASE}/v2/apps{APP_ID}", status=404, body="<html>Not Found</html>")

    with pytest.raises(MarathonError) as info:
        client_for(BASE).update_image(APP, NEW)
    assert "HTTP 404" in str(info.value) and "<html>Not Found</html>" in str(info.value)


@responses.activate
def test_a_403_is_an_auth_error_naming_the_permission() -> None:
    responses.get(f"{BASE}/v2/apps", status=403, json={"message": "Not Authorized to perform view action on /ds"})

    with pytest.raises(AuthError, match="needs permission") as info:
        client_for(BASE, user=USER, password=PASSWORD).list_app_ids()
    assert "Not Authorized to perform view action on /ds" in str(info.value)


@responses.activate
def test_the_single_app_get_is_unwrapped_from_app() -> None:
    """GET /v2/apps/{id} answers {"app": {...}} (docs/marathon-facts.md, "Reading an app")."""
    responses.get(f"{BASE}/v2/apps{APP_ID}", json={"app": APP})
    assert client_for(BASE).get_app(APP_ID) == APP


@responses.activate
def test_a_dcos_401_in_html_after_a_relogin_is_an_auth_error() -> None:
    """Admin Router's 401s are HTML; one re-login, then give up with a clear error (docs/marathon-facts.md)."""
    responses.post(f"{BASE}/acs/api/v1/auth/login", json={"token": "t0k3n"})
    responses.get(f"{BASE}/v2/apps", status=401, body="<html><h1>401 Authorization Required</h1></html>",
                  content_type="text/html")

    with pytest.raises(AuthError):
        client_for(BASE, user=USER, password=PASSWORD, auth_mode=AuthMode.DCOS).list_app_ids()
    calls = [(c.request.method, c.request.url) for c in responses.calls]
    assert calls.count(("POST", f"{BASE}/acs/api/v1/auth/login")) == 2
    assert all(c.request.headers.get("Authorization") == "token=t0k3n"
               for c in responses.calls if c.request.method == "GET")
