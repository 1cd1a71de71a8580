"""A hostile server (testbed.hostile) against the registry client and the transport under it.

Classes of attack, each with the example that was found and further members: credentials sent
over a weaker scheme or to another origin; tag pages that never end; a server that trickles
its answer; Retry-After; digests that lie; odd JSON; plus the URL and CA-bundle settings that
used to end in a traceback or mislead. docs/reliability.md ("A hostile server") lists them.
"""

from __future__ import annotations

import io
import ssl
from pathlib import Path
from typing import Any, Iterator

import pytest
import urllib3.util.retry

from fleetrewind.cli import main
from fleetrewind.errors import RegistryError, UnreachableError
from fleetrewind.registry import client as client_module
from fleetrewind.registry.auth import RegistryCredentials
from fleetrewind.registry.client import DigestMismatch, RegistryClient
from fleetrewind.secret import Secret
from fleetrewind.transport import RETRY_AFTER_MAX, TLS, CredentialsRefused, Transport, redirect_problem
from testbed.hostile import Behaviour, HostileRegistry, config_blob, digest_of, manifest_for
from testbed.relays import Redirector, TrickleRelay
from testbed.tls import TlsPaths, make_server_tls


pytestmark = pytest.mark.network  # every test here talks to a hostile server it starts


USER, PASSWORD = "ci", "hostile-pw-Zq81"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsPaths:
    return make_server_tls(tmp_path_factory.mktemp("hostile-tls"), prefix="hostile")


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry(user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture
def hostile_tls(tls: TlsPaths) -> Iterator[HostileRegistry]:
    """https on its port, and plain http on the same port (to catch what a downgrade would send)."""
    with HostileRegistry(tls=tls, dual=True, user=USER, password=PASSWORD) as server:
        yield server


def client(server: HostileRegistry, *, ca: str | None = None, timeout: float = 5.0,
           deadline: float | None = None) -> RegistryClient:
    transport = Transport(server.url, tls=TLS(ca_bundle=ca), timeout=timeout, deadline=deadline, name="registry")
    return RegistryClient(transport, credentials=RegistryCredentials(user=USER, password=Secret(PASSWORD)))


def get(server: HostileRegistry, dump: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    err = io.StringIO()
    environ = {"REGISTRY_USER": USER, "REGISTRY_PASSWORD": PASSWORD, **(env or {})}
    code = main(["get", "--repo=api", "--env=prod", f"--dump={dump}", f"--registry={server.url}", "--no-cache",
                 *extra], environ=environ, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def no_secret(text: str) -> None:
    assert PASSWORD not in text and "Traceback" not in text


def test_a_tag_page_link_from_https_to_http_on_the_same_port_gets_no_credentials(
        hostile_tls: HostileRegistry, tls: TlsPaths, tmp_path: Path) -> None:
    hostile_tls.behave("api", Behaviour(link="http://127.0.0.1:{port}/v2/api/tags/list?last=1-master"))

    code, err = get(hostile_tls, tmp_path, f"--ca-bundle={tls.ca_cert}")

    assert code == 1
    [line] = errors(err)
    assert "not followed: refusing to send credentials for registry over plain http" in line
    assert hostile_tls.seen(scheme="http") == [], "a request went out over plain http"
    assert any(r.authorization for r in hostile_tls.seen(scheme="https"))
    assert not (tmp_path / "rollback.json").exists()
    no_secret(err)


@pytest.mark.parametrize("link, why", [
    ("http://127.0.0.1:1/v2/api/tags/list?last=x", "another origin http://127.0.0.1:1"),          # other port
    ("http://localhost:{port}/v2/api/tags/list?last=x", "another origin http://localhost:"),     # other host
    ("https://127.0.0.1:{port}/v2/api/tags/list?last=x", "another origin https://127.0.0.1:"),     # other scheme
    ("http://evil:pw@127.0.0.1:{port}/v2/api/tags/list?last=x", "carries a user name or password"),
    ("http://127.0.0.1:99999/v2/api/tags/list?last=x", "unusable URL"),                         # bad port
])
def test_a_tag_page_link_to_another_origin_is_not_followed(hostile: HostileRegistry, link: str, why: str) -> None:
    hostile.behave("api", Behaviour(link=link))
    with pytest.raises(RegistryError) as refused:
        client(hostile).list_tags("api")
    message = str(refused.value)
    assert "registry's tag pages for api continue at" in message and why.replace("{port}", "") in message
    assert "evil:pw" not in message and PASSWORD not in message
    assert [r.path.split("?")[0] for r in hostile.seen()].count("/v2/api/tags/list") == 2  # 401, then with login


def test_the_transport_itself_never_sends_credentials_to_a_weaker_scheme_or_another_origin() -> None:
    transport = Transport("https://registry.example.com", tls=TLS(), name="registry")
    with pytest.raises(CredentialsRefused, match="over plain http to http://registry.example.com:80"):
        transport.request("GET", "http://registry.example.com/v2/", headers={"Authorization": "Basic eA=="})
    with pytest.raises(CredentialsRefused, match="another origin https://registry.example.com:8443"):
        transport.request("GET", "https://registry.example.com:8443/v2/", auth=("u", "p"))
    with pytest.raises(CredentialsRefused, match="over plain http"):  # even where another origin is allowed
        transport.request("GET", "http://auth.example.com/token", other_origin_ok=True,
                          headers={"Authorization": "Basic eA=="})


def test_a_token_realm_over_plain_http_from_an_https_registry_gets_no_password(
        hostile_tls: HostileRegistry, tls: TlsPaths) -> None:
    hostile_tls.user = None
    hostile_tls.behave("api", Behaviour(challenge=f'Bearer realm="http://127.0.0.1:{hostile_tls.port}/token",'
                                                  'service="hostile"'))
    with pytest.raises(CredentialsRefused, match="over plain http"):
        client(hostile_tls, ca=tls.ca_cert).list_tags("api")
    assert hostile_tls.seen(scheme="http") == []


@pytest.mark.parametrize("status", [307, 308])
def test_a_dcos_login_redirected_to_another_origin_sends_the_password_nowhere(
        cli: Any, tmp_path: Path, status: int) -> None:
    with Redirector(status) as server:
        result = cli("deploy", "--env=prod", "--image=api=2", f"--dump={tmp_path}", f"--marathon={server.url}", "--user=ops",
                     "--marathon-auth=dcos", env={"MARATHON_PASSWORD": PASSWORD})
        assert server.caught == [] and server.bodies == [], "the login was sent again to another origin"
    assert result.code == 1, result.err
    [line] = errors(result.err)
    assert line.startswith("error: refusing to follow a redirect of POST /acs/api/v1/auth/login from Marathon at")
    assert "to another origin http://localhost:" in line
    no_secret(result.out + result.err)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_write_redirected_to_another_origin_is_not_sent_there(status: int) -> None:
    """A PUT's app definition carries the app's env (passwords): it stays on Marathon's origin."""
    with Redirector(status) as server:
        transport = Transport(server.url, tls=TLS(), name="Marathon")
        with pytest.raises(CredentialsRefused, match="redirect of PUT /v2/apps/ds/prod/api .* another origin"):
            transport.request("PUT", "/v2/apps/ds/prod/api", json={"env": {"DB_PASSWORD": PASSWORD}},
                              auth=("ops", PASSWORD))
        assert server.caught == []


def test_a_read_may_still_be_redirected_elsewhere_without_its_credentials() -> None:
    """A registry sends blob downloads to its storage: followed, with no Authorization (requests drops it)."""
    with Redirector(307) as server:
        transport = Transport(server.url, tls=TLS(), name="registry")
        resp = transport.request("GET", "/v2/api/blobs/sha256:ab", headers={"Authorization": "Basic eA=="})
        assert resp.status_code == 200
        assert [(s.method, s.authorization) for s in server.caught] == [("GET", None)]
    with Redirector(307, same_origin=True) as server:  # and a write may move on its own origin
        transport = Transport(server.url, tls=TLS(), name="Marathon")
        assert transport.request("PUT", "/v2/apps/x", json={"a": 1}).status_code == 200
        assert server.bodies == [b'{"a": 1}']


@pytest.mark.parametrize("method, body, to, why", [
    ("GET", False, "http://registry.example.com/v2/x", "from https to plain http"),
    ("GET", False, "http://cdn.example.net/blob", "from https to plain http"),
    ("GET", False, "https://u:pw@cdn.example.net/blob", "user name or password of its own"),
    ("GET", False, "https://registry.example.com:99999/", "unusable URL"),
    ("POST", True, "https://auth.example.net/login", "another origin https://auth.example.net:443"),
    ("DELETE", False, "https://registry.example.com:8443/x", "another origin"),
    ("GET", False, "https://cdn.example.net/blob", None),
    ("PUT", True, "https://registry.example.com/other", None),
])
def test_which_redirects_are_followed(method: str, body: bool, to: str, why: str | None) -> None:
    problem = redirect_problem(method, body, "https://registry.example.com/v2/x", to)
    assert (problem is None) if why is None else (problem is not None and why in problem)
    assert "pw" not in (problem or "")


def test_endless_never_repeating_tag_pages_stop_at_the_page_cap(hostile: HostileRegistry, tmp_path: Path) -> None:
    hostile.behave("api", Behaviour(pages="endless", endless_limit=client_module.MAX_TAG_PAGES + 500))

    code, err = get(hostile, tmp_path)

    assert code == 1
    [line] = errors(err)
    assert f"registry's tag list for api did not end after {client_module.MAX_TAG_PAGES} pages" in line
    assert len(hostile.seen()) <= client_module.MAX_TAG_PAGES + 3
    assert not (tmp_path / "rollback.json").exists()


@pytest.mark.parametrize("pages, message", [
    ("cycle", "loop back on themselves"),                         # cursor a -> b -> a
    ("same", "a page repeats an earlier one under another cursor"),  # new cursor, same page
    ("empty", "did not end after"),                               # endless empty pages
])
def test_tag_pages_that_repeat_or_never_end_are_refused(hostile: HostileRegistry, pages: str, message: str) -> None:
    hostile.behave("api", Behaviour(pages=pages))
    with pytest.raises(RegistryError, match=message):
        client(hostile).list_tags("api")


def test_headers_trickled_one_byte_at_a_time_do_not_hold_the_tool_past_the_deadline(
        hostile: HostileRegistry) -> None:
    # 0.05 s per byte stays under the 1 s read timeout forever; the whole answer would take ~8 s.
    hostile.behave("api", Behaviour(trickle=0.05))
    with pytest.raises(UnreachableError) as slow:
        client(hostile, timeout=1.0, deadline=1.5).list_tags("api")
    assert "registry at http://127.0.0.1" in str(slow.value)
    assert "did not finish GET /v2/api/tags/list within 1.5 s (the deadline of one request" in str(slow.value)


@pytest.mark.parametrize("where, behaviour", [("tags", Behaviour(slow_body=0.05)),
                                              ("manifest", Behaviour(slow_body=0.05)),
                                              ("blob", Behaviour(slow_blob=0.05)),
                                              ("manifest headers", Behaviour(trickle=0.05))])
def test_a_slow_answer_is_cut_at_the_deadline(hostile: HostileRegistry, where: str, behaviour: Behaviour) -> None:
    hostile.behave("api", behaviour)
    registry = client(hostile, timeout=1.0, deadline=1.5)
    with pytest.raises(UnreachableError, match="within 1.5 s"):
        if where == "tags":
            registry.list_tags("api")
        else:
            registry.image_date("api", "1-master")


def test_a_tls_handshake_trickled_byte_by_byte_is_cut_at_the_deadline(tls: TlsPaths) -> None:
    def through(relay: TrickleRelay) -> Transport:
        return Transport(f"https://127.0.0.1:{relay.port}", tls=TLS(ca_bundle=tls.ca_cert), timeout=1.0,
                         deadline=1.5, name="registry")

    with HostileRegistry(tls=tls) as server:
        with TrickleRelay(server.port, 0.0) as fast:
            through(fast).request("GET", "/v2/")
            whole = fast.relayed  # the handshake and the answer
        with TrickleRelay(server.port, 0.02) as slow:
            with pytest.raises(UnreachableError, match="did not finish GET /v2/ within 1.5 s"):
                through(slow).request("GET", "/v2/")
            assert slow.relayed < whole / 2, "a handshake ran to its end"
            # Python bounds one handshake by the connect timeout; the deadline also stops the retries.
            assert slow.accepted <= 2
        assert len(server.seen()) == 1  # only the fast one got as far as a request


def test_the_connection_pool_still_works_after_a_request_was_cut(hostile: HostileRegistry) -> None:
    registry = client(hostile, timeout=1.0, deadline=1.0)
    hostile.behave("api", Behaviour(trickle=0.05))
    with pytest.raises(UnreachableError):
        registry.list_tags("api")
    hostile.behave("api", Behaviour(tags=["7-master"]))
    assert registry.list_tags("api") == ["7-master"]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's retry waits, recorded instead of slept (the clock of the retry is injected)."""
    waits: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waits.append)
    return waits


@pytest.mark.parametrize("value", ["3600", "99999999999999999999", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_huge_retry_after_is_obeyed_only_up_to_the_bound(hostile: HostileRegistry, sleeps: list[float],
                                                           value: str) -> None:
    hostile.behave("api", Behaviour(retry_after=value, retry_times=2))
    assert client(hostile).list_tags("api") == ["1-master"]
    assert sleeps and max(sleeps) <= RETRY_AFTER_MAX


@pytest.mark.parametrize("value", ["soon", "-5", "1e9", ""])
def test_a_malformed_retry_after_falls_back_to_the_backoff(hostile: HostileRegistry, sleeps: list[float],
                                                          value: str) -> None:
    hostile.behave("api", Behaviour(retry_after=value, retry_times=2))
    assert client(hostile).list_tags("api") == ["1-master"]
    assert max(sleeps, default=0) <= 1.0


def test_retry_after_soon_every_time_ends_in_one_error_line(hostile: HostileRegistry, sleeps: list[float],
                                                            tmp_path: Path) -> None:
    hostile.behave("api", Behaviour(retry_after="soon"))
    code, err = get(hostile, tmp_path)
    assert code == 4
    [line] = errors(err)
    assert "kept failing on the tags of api (HTTP 429) after retries" in line
    no_secret(err)


def test_a_retry_after_never_outlasts_the_request_deadline(hostile: HostileRegistry, sleeps: list[float]) -> None:
    hostile.behave("api", Behaviour(retry_after="8", retry_times=1))
    client(hostile, deadline=3.0).list_tags("api")
    assert sleeps and max(sleeps) <= 3.0


def test_a_docker_content_digest_that_is_not_the_manifests_is_one_error_and_nothing_is_written(
        hostile: HostileRegistry, tmp_path: Path) -> None:
    hostile.behave("api", Behaviour(digest="sha256:" + "0" * 64))

    code, err = get(hostile, tmp_path)

    assert code == 1
    [line] = errors(err)
    assert "manifest api:1-master: the registry's Docker-Content-Digest sha256:000" in line
    assert "is not the digest of the manifest it sent" in line
    assert not (tmp_path / "rollback.json").exists()


@pytest.mark.parametrize("claimed", ["sha256:xyz", "sha512:" + "0" * 128, "sha256:" + "A" * 64])
def test_other_false_digest_claims_are_refused(hostile: HostileRegistry, claimed: str) -> None:
    hostile.behave("api", Behaviour(digest=claimed))
    with pytest.raises(DigestMismatch, match="is not the digest of the manifest it sent"):
        client(hostile).image_date("api", "1-master")


def test_a_config_blob_that_is_not_the_one_asked_for_is_refused(hostile: HostileRegistry) -> None:
    hostile.behave("api", Behaviour(blob=config_blob("2001-01-01T00:00:00Z")))
    with pytest.raises(DigestMismatch, match="the config blob the registry sent does not have the digest"):
        client(hostile).image_date("api", "1-master")


def test_a_platform_child_that_is_not_the_one_asked_for_is_refused(hostile: HostileRegistry) -> None:
    other = manifest_for(config_blob("2001-01-01T00:00:00Z"))
    # The list names the honest child's digest; asked for it, the server sends another manifest.
    hostile.behave("api", Behaviour(manifest_list=True, child_body=other))
    with pytest.raises(DigestMismatch, match="requested digest"):
        client(hostile).image_date("api", "1-master")


def test_an_honest_manifest_list_still_reads(hostile: HostileRegistry) -> None:
    hostile.behave("api", Behaviour(manifest_list=True))
    found = client(hostile).image_date("api", "1-master")
    assert found.created.isoformat() == "2026-11-19T10:00:00+00:00"


@pytest.mark.parametrize("body", [b'{"tags": 5}', b'[1, 2]', b'{"tags": [1, 2]}', b'{"tags": "1-master"}',
                                  b"not json", b'{"tags": {"a": 1}}'])
def test_an_odd_tag_list_is_one_clear_error(hostile: HostileRegistry, tmp_path: Path, body: bytes) -> None:
    hostile.behave("api", Behaviour(tags_body=body))
    code, err = get(hostile, tmp_path)
    assert code == 1, err
    [line] = errors(err)
    assert "registry sent an unreadable tag list for api" in line or \
        "registry sent a tag list for api whose 'tags' is not a list of strings" in line
    no_secret(err)


@pytest.mark.parametrize("url, problem", [
    ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ("http://[::1", "an IPv6 address must be closed with ]"),
    ("http://registry:port", "the port must be a number from 1 to 65535"),
    ("https://ops:pw-x9@:443", "no host name"),
])
def test_an_unusable_url_is_one_error_with_exit_2(cli: Any, tmp_path: Path, url: str, problem: str) -> None:
    for flag in ("--registry", "--marathon"):
        args = (["get", "--repo=api", "--env=prod"] if flag == "--registry" else
                ["plan", "--date=2026-11-19", "--env=prod"])
        result = cli(*args, f"--dump={tmp_path}", f"{flag}={url}")
        assert result.code == 2, result.err
        [line] = errors(result.err)
        assert f"{flag} is not a usable URL ({problem}" in line
        assert "pw-x9" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_variable_naming_a_missing_file_is_one_error_with_exit_2(
        cli: Any, tmp_path: Path, variable: str) -> None:
    result = cli("get", "--repo=api", "--env=prod", f"--dump={tmp_path}", "--registry=https://127.0.0.1:1",
                 env={variable: str(tmp_path / "missing.pem")})
    assert result.code == 2
    [line] = errors(result.err)
    assert f"{variable} {tmp_path / 'missing.pem'} is not a readable file; fix or unset it" in line


def test_requests_ca_bundle_is_a_setting_of_its_own_and_says_when_it_takes_effect(
        tls: TlsPaths, tmp_path: Path) -> None:
    with HostileRegistry(tls=tls) as server:
        code, err = get(server, tmp_path, env={"REQUESTS_CA_BUNDLE": tls.ca_cert})
        assert code == 0, err
        assert f"warning: TLS: trusting only the CAs in {tls.ca_cert} (from REQUESTS_CA_BUNDLE)" in err
        # The explicit settings win, and then the variable is not mentioned.
        code, err = get(server, tmp_path / "2", f"--ca-bundle={tls.ca_cert}",
                        env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"})
        assert code == 0, err
        assert "REQUESTS_CA_BUNDLE" not in err


def test_a_wrong_ca_bundle_does_not_say_pass_ca_bundle(tls: TlsPaths, tmp_path: Path) -> None:
    other = make_server_tls(tmp_path / "other").ca_cert
    with HostileRegistry(tls=tls) as server:
        code, err = get(server, tmp_path, f"--ca-bundle={other}")
    assert code == 4
    [line] = errors(err)
    assert f"it is not signed by a CA in {other} (from --ca-bundle)" in line
    assert "pass --ca-bundle" not in line


def test_an_expired_certificate_says_it_expired_not_pass_ca_bundle(tmp_path: Path) -> None:
    expired = make_server_tls(tmp_path / "expired", prefix="hostile", expired=True)
    with HostileRegistry(tls=expired) as server:
        code, err = get(server, tmp_path, f"--ca-bundle={expired.ca_cert}")
    assert code == 4
    [line] = errors(err)
    assert "the server's certificate has expired" in line and "--ca-bundle" not in line


def test_a_certificate_for_another_name_says_so(tmp_path: Path) -> None:
    paths = make_server_tls(tmp_path / "named", names=("registry.internal",), prefix="hostile")
    with HostileRegistry(tls=paths) as server:
        code, err = get(server, tmp_path, f"--ca-bundle={paths.ca_cert}")
    assert code == 4
    [line] = errors(err)
    assert "the certificate does not match the host name" in line and "pass --ca-bundle" not in line


@pytest.mark.parametrize("how", ["flag", "environment"])
@pytest.mark.parametrize("webhook", ["http://hooks.slack.example.com/services/T0/B0/XXXXsecret",
                                     "http://10.1.2.3/services/T0/B0/XXXXsecret",
                                     "http://[2001:db8::1]/services/T0/B0/XXXXsecret"])
def test_an_http_slack_webhook_off_this_machine_is_refused(cli: Any, tmp_path: Path, how: str,
                                                           webhook: str) -> None:
    args = ["run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}"]
    env = {"MARATHON_URL": "http://127.0.0.1:1"}
    if how == "flag":
        args.append(f"--slack={webhook}")
    else:
        env["SLACK_WEBHOOK_URL"] = webhook
    result = cli(*args, env=env)
    assert result.code == 2
    [line] = errors(result.err)
    assert "--slack must be an incoming-webhook URL starting with https://" in line
    assert "XXXXsecret" not in result.err


def test_the_digest_in_rollback_json_is_the_digest_of_the_bytes_received(hostile: HostileRegistry,
                                                                         tmp_path: Path) -> None:
    """What rollback.json records (and pin_digest deploys) is checked, not taken on the registry's word."""
    code, err = get(hostile, tmp_path)
    assert code == 0, err
    expected = digest_of(manifest_for(config_blob("2026-11-19T10:00:00Z")))
    assert f'"{expected}"' in (tmp_path / "rollback.json").read_text()


@pytest.mark.parametrize("tamper", ["manifest bytes", "digest header", "config blob"])
def test_a_tampering_proxy_in_front_of_the_real_registry_is_caught(
        registry: Any, proxy_factory: Any, unique_repo: str, tmp_path: Path, tamper: str) -> None:
    from testbed.images import push_image

    push_image(registry.url, unique_repo, "7-master", "2026-11-19T10:00:00Z")
    other = push_image(registry.url, unique_repo, "8-master", "2026-11-20T10:00:00Z")

    def hook(path: str, status: int, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, str], bytes]:
        if tamper == "manifest bytes" and "/manifests/7-master" in path:
            data = data + b"\n"  # still the same JSON, no longer the same bytes
        elif tamper == "digest header" and "/manifests/7-master" in path:
            headers = {k: (other if k.lower() == "docker-content-digest" else v) for k, v in headers.items()}
        elif tamper == "config blob" and "/blobs/" in path and data.startswith(b"{"):
            data = data.replace(b"2026-11-19", b"2026-11-21")
        headers = {k: (str(len(data)) if k.lower() == "content-length" else v) for k, v in headers.items()}
        return status, headers, data

    proxy = proxy_factory(registry.url, response_hook=hook)
    out, err = io.StringIO(), io.StringIO()
    code = main(["get", f"--repo={unique_repo}", "--env=prod", f"--dump={tmp_path}", f"--registry={proxy.url}",
                 "--no-cache"], environ={}, stdout=out, stderr=err)
    assert code == 1, err.getvalue()
    [line] = errors(err.getvalue())
    assert "nothing was written" in line and ("is not the digest of the manifest it sent" in line or
                                              "does not have the digest" in line)
    assert not (tmp_path / "rollback.json").exists()


def test_requests_ca_bundle_naming_the_system_ca_file_is_not_warned_about(cli: Any, tmp_path: Path) -> None:
    """Debian-based images set REQUESTS_CA_BUNDLE to the system's own CA file: nothing is replaced, so no warning."""
    system = ssl.get_default_verify_paths().cafile
    if not system or not Path(system).is_file():
        pytest.skip("this machine has no system CA file")
    result = cli("dates", f"--dump={tmp_path}", env={"REQUESTS_CA_BUNDLE": system})
    assert "trusting only the CAs" not in result.err
    copy = tmp_path / "copy.pem"
    copy.write_bytes(Path(system).read_bytes())  # same CAs, another file: it does replace the default, say so
    result = cli("dates", f"--dump={tmp_path}", env={"REQUESTS_CA_BUNDLE": str(copy)})
    assert f"trusting only the CAs in {copy} (from REQUESTS_CA_BUNDLE)" in result.err
