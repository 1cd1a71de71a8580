"""The registry client against the real registry (Debian's docker-registry), and `responses` for narrow edges."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from fleetrewind.errors import AuthError, UnreachableError
from fleetrewind.registry.client import MalformedManifest, RegistryClient, UnknownRepository
from fleetrewind.transport import TLS
from testbed.images import DOCKER_MANIFEST, ImagePusher, push_image
from testbed.canned import canned
from tests.unit.test_registry_client import UTC, client_for, one_line_error


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


AMD64 = "2026-11-19T10:02:03Z"


ARM64 = "2026-11-20T22:00:00Z"   # another day: only the linux/amd64 child's date may count


@pytest.mark.parametrize("kind", ["docker2", "oci", "list", "index", "schema1"])
def test_every_manifest_kind_gives_its_created_date(registry, unique_repo: str, kind: str) -> None:
    # lists and indexes get their arm64 child first, dated a day later than the amd64 one;
    # schema 1's newest history entry is its second one (see testbed.schema1).
    digest = push_image(registry.url, unique_repo, "7-master", AMD64, kind=kind,
                        platforms=("linux/arm64", "linux/amd64") if kind in ("list", "index") else ("linux/amd64",),
                        platform_created={"linux/arm64": ARM64})
    got = client_for(registry.url).image_date(unique_repo, "7-master")
    assert got.created == utc("2026-11-19T10:02:03")
    assert got.digest == digest


@pytest.mark.parametrize("kind", ["list", "index"])
def test_platform_picks_the_other_child(registry, unique_repo: str, kind: str) -> None:
    digest = push_image(registry.url, unique_repo, "7-master", AMD64, kind=kind,
                        platform_created={"linux/arm64": ARM64})
    got = client_for(registry.url, platform="linux/arm64").image_date(unique_repo, "7-master")
    assert got.created == utc("2026-11-20T22:00:00")
    assert got.digest == digest   # the tag's digest, not the child's


def test_a_list_without_the_platform_says_to_set_platform(registry, unique_repo: str) -> None:
    push_image(registry.url, unique_repo, "7-master", AMD64, kind="list", platforms=("linux/arm64",))
    with pytest.raises(MalformedManifest) as caught:
        client_for(registry.url).image_date(unique_repo, "7-master")
    assert f"{unique_repo}:7-master: no linux/amd64 image in its manifest list; set --platform" == str(caught.value)


def test_nanosecond_created_from_the_registry(registry, unique_repo: str) -> None:
    push_image(registry.url, unique_repo, "1-master", "2026-11-21T20:50:51.32414271Z", kind="oci")
    got = client_for(registry.url).image_date(unique_repo, "1-master")
    assert got.created == dt.datetime(2026, 11, 21, 20, 50, 51, 324142, tzinfo=UTC)


def test_a_config_without_created_is_malformed(registry, unique_repo: str) -> None:
    push_image(registry.url, unique_repo, "1-master", None)
    with pytest.raises(MalformedManifest, match=f"{unique_repo}:1-master config has no 'created' time"):
        client_for(registry.url).image_date(unique_repo, "1-master")


def test_a_config_that_is_not_json_is_malformed(registry, unique_repo: str) -> None:
    push_image(registry.url, unique_repo, "1-master", None, raw_config=b"\x00not json")
    with pytest.raises(MalformedManifest, match="config blob is not JSON"):
        client_for(registry.url).image_date(unique_repo, "1-master")


def test_tags_of_the_real_registry(registry, unique_repo: str) -> None:
    pusher = ImagePusher(registry.url)
    for tag in ("9-master", "10-master", "latest"):
        pusher.push_image(unique_repo, tag, AMD64)
    assert sorted(client_for(registry.url).list_tags(unique_repo)) == ["10-master", "9-master", "latest"]


def test_an_unknown_repository(registry) -> None:
    with pytest.raises(UnknownRepository) as caught:
        client_for(registry.url).list_tags("t/never-pushed")
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"repository 't/never-pushed' does not exist in registry {registry.url}; check --repo"


def test_basic_auth_with_the_right_credentials(registry_basic, unique_repo: str) -> None:
    push_image(registry_basic.url, unique_repo, "3-master", AMD64, auth=registry_basic.auth)
    client = client_for(registry_basic.url, auth=registry_basic.auth)
    assert client.list_tags(unique_repo) == ["3-master"]
    assert client.image_date(unique_repo, "3-master").created == utc("2026-11-19T10:02:03")


def test_basic_auth_with_wrong_credentials(registry_basic, unique_repo: str) -> None:
    push_image(registry_basic.url, unique_repo, "3-master", AMD64, auth=registry_basic.auth)
    with pytest.raises(AuthError) as caught:
        client_for(registry_basic.url, auth=("ci", "wrong-password")).list_tags(unique_repo)
    assert caught.value.exit_code == 4
    assert "refused the credentials" in str(caught.value)
    assert "REGISTRY_USER/REGISTRY_PASSWORD" in str(caught.value)
    assert "wrong-password" not in str(caught.value)


def test_basic_auth_without_credentials_says_what_to_set(registry_basic, unique_repo: str) -> None:
    with pytest.raises(AuthError) as caught:
        client_for(registry_basic.url).list_tags(unique_repo)
    assert caught.value.exit_code == 4
    assert str(caught.value) == (f"registry {registry_basic.url} requires a login: set REGISTRY_USER and "
                                 "REGISTRY_PASSWORD (or docker login)")


def test_registry_credentials_from_the_environment(cli, registry_basic, unique_repo: str, tmp_path: Path) -> None:
    push_image(registry_basic.url, unique_repo, "3-master", AMD64, auth=registry_basic.auth)
    user, password = registry_basic.auth
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}",
                 f"--dump={tmp_path}", env={"REGISTRY_USER": user, "REGISTRY_PASSWORD": password})
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "rollback.json").read_text())["rollbacks"]["2026-11-19"][0]["tag"] == "3-master"
    assert password not in result.err + result.out


def test_bearer_token_flow(registry_token, unique_repo: str) -> None:
    issuer = registry_token.token_auth
    pusher = ImagePusher(registry_token.url, auth=registry_token.auth)
    pusher.push_image(unique_repo, "1-master", AMD64, kind="index")
    pusher.push_image(unique_repo, "2-master", "2026-11-20T01:00:00Z")
    client = client_for(registry_token.url, auth=registry_token.auth)
    before = issuer.token_count
    assert sorted(client.list_tags(unique_repo)) == ["1-master", "2-master"]
    assert client.image_date(unique_repo, "1-master").created == utc("2026-11-19T10:02:03")
    assert client.image_date(unique_repo, "2-master").created == utc("2026-11-20T01:00:00")
    # one token for the repository's pull scope, reused for its seven requests
    assert issuer.token_count - before == 1
    last = issuer.requests[-1]
    assert last["user"] == "ci" and last["scopes"] == [f"repository:{unique_repo}:pull"]


def test_bearer_with_wrong_credentials(registry_token, unique_repo: str) -> None:
    with pytest.raises(AuthError) as caught:
        client_for(registry_token.url, auth=("ci", "not-it")).list_tags(unique_repo)
    assert caught.value.exit_code == 4
    assert "the registry's token service refused user 'ci' (HTTP 401)" in str(caught.value)


def test_bearer_without_credentials(registry_token, unique_repo: str) -> None:
    with pytest.raises(AuthError) as caught:
        client_for(registry_token.url).list_tags(unique_repo)
    assert "the registry's token service refused anonymous access (HTTP 401); check REGISTRY_USER/REGISTRY_PASSWORD" \
        == str(caught.value)


def _docker_config(folder: Path, key: str, user: str, password: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {key: {"auth": auth}}}), encoding="utf-8")
    return {"DOCKER_CONFIG": str(folder)}


@pytest.mark.parametrize("server, key_form", [
    ("registry_basic", "{host}"),
    ("registry_basic", "http://{host}"),
    ("registry_token", "{host}"),
])
@pytest.mark.network
def test_credentials_from_docker_config_auths(cli, request, unique_repo: str, tmp_path: Path, server: str,
                                              key_form: str) -> None:
    reg = request.getfixturevalue(server)
    push_image(reg.url, unique_repo, "3-master", AMD64, auth=reg.auth)
    env = _docker_config(tmp_path / "docker", key_form.format(host=reg.host), *reg.auth)
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={reg.url}", f"--dump={tmp_path}", env=env)
    assert result.code == 0, result.err
    assert "2026-11-19" in json.loads((tmp_path / "rollback.json").read_text())["rollbacks"]


def test_docker_config_for_another_host_is_not_used(cli, registry_basic, unique_repo: str, tmp_path: Path) -> None:
    env = _docker_config(tmp_path / "docker", "registry.example.com", *registry_basic.auth)
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}",
                 f"--dump={tmp_path}", env=env)
    assert result.code == 4
    assert "requires a login: set REGISTRY_USER and REGISTRY_PASSWORD" in one_line_error(result)


def test_wrong_password_in_docker_config(cli, registry_basic, unique_repo: str, tmp_path: Path) -> None:
    env = _docker_config(tmp_path / "docker", registry_basic.host, "ci", "stale-password")
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}",
                 f"--dump={tmp_path}", env=env)
    assert result.code == 4
    assert "refused the credentials" in one_line_error(result)


def test_environment_credentials_beat_docker_config(cli, registry_basic, unique_repo: str, tmp_path: Path) -> None:
    push_image(registry_basic.url, unique_repo, "3-master", AMD64, auth=registry_basic.auth)
    env = _docker_config(tmp_path / "docker", registry_basic.host, "ci", "stale-password")
    env.update(REGISTRY_USER=registry_basic.auth[0], REGISTRY_PASSWORD=registry_basic.auth[1])
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}",
                 f"--dump={tmp_path}", env=env)
    assert result.code == 0, result.err


@pytest.fixture
def tls_repo(registry_tls, unique_repo: str) -> str:
    push_image(registry_tls.url, unique_repo, "5-master", AMD64, verify=registry_tls.ca_bundle)
    return unique_repo


def _get_tls(cli, registry_tls, repo: str, dump: Path, *flags: str):
    return cli("get", f"--repo={repo}", "--env=prod", f"--registry={registry_tls.url}", f"--dump={dump}", *flags)


def test_tls_refused_without_the_ca_bundle(registry_tls, tls_repo: str) -> None:
    # (the CLI's exit 4 for this is in test_get_cli; no retries here: a bad certificate never heals)
    with pytest.raises(UnreachableError) as caught:
        client_for(registry_tls.url, retries=0).list_tags(tls_repo)
    assert caught.value.exit_code == 4
    message = str(caught.value)
    assert message.startswith(f"TLS verification failed for registry at {registry_tls.url}/v2/{tls_repo}/tags/list")
    assert "certificate verify failed" in message
    assert "pass --ca-bundle=<file> for a private CA" in message


def test_tls_with_the_ca_bundle(cli, registry_tls, tls_repo: str, tmp_path: Path) -> None:
    result = _get_tls(cli, registry_tls, tls_repo, tmp_path, f"--ca-bundle={registry_tls.ca_bundle}")
    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert json.loads((tmp_path / "rollback.json").read_text())["registry"] == registry_tls.url


def test_tls_insecure_works_and_warns(cli, registry_tls, tls_repo: str, tmp_path: Path) -> None:
    result = _get_tls(cli, registry_tls, tls_repo, tmp_path, "--insecure")
    assert result.code == 0, result.err
    assert "warning: --insecure: TLS certificates are NOT verified" in result.err
    assert (tmp_path / "rollback.json").exists()


def test_ca_bundle_wins_over_requests_ca_bundle(cli, monkeypatch: pytest.MonkeyPatch, registry_tls, tls_repo: str,
                                                tmp_path: Path) -> None:
    # requests lets these variables override a Session's verify; the tool must pass verify per request.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)
    result = _get_tls(cli, registry_tls, tls_repo, tmp_path, f"--ca-bundle={registry_tls.ca_bundle}")
    assert result.code == 0, result.err
    client = client_for(registry_tls.url, tls=TLS(ca_bundle=registry_tls.ca_bundle))
    assert client.list_tags(tls_repo) == ["5-master"]


def test_ca_bundle_from_the_environment_variable(cli, monkeypatch: pytest.MonkeyPatch, registry_tls, tls_repo: str,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    result = cli("get", f"--repo={tls_repo}", "--env=prod", f"--registry={registry_tls.url}", f"--dump={tmp_path}",
                 env={"ROLLBACK_CA_BUNDLE": registry_tls.ca_bundle})
    assert result.code == 0, result.err


PAGED_REPO = "t/client-module-paged"


FIVE_TAGS = ["1-master", "10-master", "2-master", "3-stage", "latest"]


@pytest.fixture(scope="module")
def paged_repo(registry) -> str:
    """Five tags, pushed once for this module's read-only pagination tests."""
    pusher = ImagePusher(registry.url)
    for tag in FIVE_TAGS:
        pusher.push_image(PAGED_REPO, tag, AMD64)
    return PAGED_REPO


@pytest.mark.parametrize("link_style", ["relative", "absolute"])
def test_tags_follow_link_pages(registry, proxy_factory, paged_repo: str, link_style: str) -> None:
    proxy = proxy_factory(registry.url, paginate_tags=2, link_style=link_style)
    tags = client_for(proxy.url).list_tags(paged_repo)
    assert sorted(tags) == sorted(FIVE_TAGS)
    assert len(tags) == 5
    assert proxy.counts["tags"] == 3
    assert [path for _, path, _ in proxy.log][1:] == [
        f"/v2/{paged_repo}/tags/list?n=2&last=10-master",
        f"/v2/{paged_repo}/tags/list?n=2&last=3-stage",
    ]


def test_get_reads_every_page(cli, registry, proxy_factory, paged_repo: str, tmp_path: Path) -> None:
    proxy = proxy_factory(registry.url, paginate_tags=1)
    result = cli("get", f"--repo={paged_repo}", "--env=prod", f"--registry={proxy.url}", f"--dump={tmp_path}")
    assert result.code == 0, result.err
    entries = json.loads((tmp_path / "rollback.json").read_text())["rollbacks"]["2026-11-19"]
    assert [e["tag"] for e in entries] == ["1-master", "10-master", "2-master"]   # same created: ordered by tag
    assert proxy.counts["tags"] == 5


def _dates(client: RegistryClient, repo: str) -> dict[str, tuple[str, dt.datetime]]:
    result = {}
    for tag in sorted(client.list_tags(repo)):
        found = client.image_date(repo, tag)
        result[tag] = (found.digest, found.created)
    return result


@pytest.fixture(scope="module")
def mixed_repo(registry) -> str:
    """One tag of each kind, pushed once for this module's read-only retry tests."""
    repo = "t/client-module-mixed"
    pusher = ImagePusher(registry.url)
    for i, kind in enumerate(["docker2", "oci", "list", "index", "schema1", "docker2"]):
        pusher.push_image(repo, f"{i}-master", f"2026-11-1{i}T08:00:00Z", kind=kind)
    return repo


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_failing_request_is_retried(registry, proxy_factory, mixed_repo: str, status: int) -> None:
    clean = _dates(client_for(registry.url), mixed_repo)
    proxy = proxy_factory(registry.url)
    proxy.fail_next(3, status)     # three in a row: the last retry gets through
    assert _dates(client_for(proxy.url), mixed_repo) == clean
    assert proxy.faults_injected == 3


def test_random_faults_give_the_same_result_as_a_clean_registry(registry, proxy_factory, mixed_repo: str) -> None:
    clean = _dates(client_for(registry.url), mixed_repo)
    proxy = proxy_factory(registry.url, fault_rate=0.3, fault_statuses=(500, 503, 429), seed=7)
    assert _dates(client_for(proxy.url), mixed_repo) == clean
    assert proxy.faults_injected >= 5


def test_a_registry_that_keeps_failing_is_unreachable(registry, proxy_factory, mixed_repo: str) -> None:
    proxy = proxy_factory(registry.url)
    proxy.fail_next(30, 503)
    with pytest.raises(UnreachableError) as caught:
        client_for(proxy.url).list_tags(mixed_repo)
    assert caught.value.exit_code == 4
    assert str(caught.value) == (f"registry {proxy.url} kept failing on the tags of {mixed_repo} (HTTP 503) "
                                 "after retries; try again later")
    assert 3 < proxy.faults_injected < 30   # retried, then gave up


def test_a_malformed_manifest_served_by_the_registry(registry, proxy_factory, mixed_repo: str) -> None:
    def rewrite(path: str):
        return canned(200, b'{"schemaVersion": 2, "config": ', DOCKER_MANIFEST) if path.endswith("/manifests/1-master") else None

    proxy = proxy_factory(registry.url, rewrite=rewrite)
    client = client_for(proxy.url)
    assert client.image_date(mixed_repo, "0-master").created == utc("2026-11-10T08:00:00")
    with pytest.raises(MalformedManifest) as caught:
        client.image_date(mixed_repo, "1-master")
    assert str(caught.value) == f"manifest {mixed_repo}:1-master is not valid JSON; fix or delete that tag in the registry"
    assert caught.value.exit_code == 1
