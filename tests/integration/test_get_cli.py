"""`get` and `dates` through the command line, against the real registry."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.registry.client import parse_created
from testbed.fleet import SAMPLE_FLEET, populate
from testbed.images import DOCKER_MANIFEST, ImagePusher
from testbed.canned import canned
from tests.unit.test_get_cli import assert_previous_kept, dump, one_line_error


ROOT = Path(__file__).resolve().parents[2]


FLEET = "t/getcli-fleet/"


SERVICES = ("api", "worker", "auth", "web")


REPO_FLAG = "--repo=" + ",".join(FLEET + s for s in SERVICES)


# What rollback.json must hold for SAMPLE_FLEET on branch master, in UTC: every master release,
# by the day of its `created` (a list's linux/amd64 child; schema 1's newest history entry).
EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "2026-11-20": [("api", "515-master", "2026-11-20T09:30:00Z"), ("worker", "210-master", "2026-11-20T08:00:00Z"),
                   ("auth", "406-master", "2026-11-20T10:00:00Z"), ("web", "308-master", "2026-11-20T06:00:00Z")],
    "2026-11-19": [("api", "512-master", "2026-11-19T11:00:00Z"), ("auth", "405-master", "2026-11-19T09:15:00Z"),
                   ("web", "306-master", "2026-11-19T23:59:59.999999Z")],
    "2026-11-18": [("api", "508-master", "2026-11-18T08:05:00Z"), ("api", "509-master", "2026-11-18T12:41:17.123456Z"),
                   ("api", "510-master", "2026-11-18T17:59:00Z"), ("worker", "207-master", "2026-11-18T14:45:00Z"),
                   ("web", "305-master", "2026-11-18T07:30:00Z")],
    "2026-11-17": [("api", "506-master", "2026-11-17T09:00:00Z"), ("worker", "204-master", "2026-11-17T10:10:00Z"),
                   ("auth", "402-master", "2026-11-17T13:30:00Z"), ("web", "303-master", "2026-11-17T18:00:00Z")],
    "2026-11-16": [("api", "503-master", "2026-11-16T10:30:00Z"), ("worker", "201-master", "2026-11-16T16:20:00Z"),
                   ("web", "301-master", "2026-11-16T09:45:00Z")],
    "2026-11-15": [("api", "500-master", "2026-11-15T08:12:00Z"), ("worker", "200-master", "2026-11-15T07:00:00Z"),
                   ("auth", "400-master", "2026-11-15T11:00:00Z"), ("web", "300-master", "2026-11-15T09:45:00Z")],
}


@pytest.fixture(scope="module")
def fleet(registry) -> dict[str, dict[str, str]]:
    """SAMPLE_FLEET pushed once for this module (read only): {repository: {tag: digest}}."""
    return populate(registry.url, SAMPLE_FLEET, prefix=FLEET)


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "rollback.json").read_text(encoding="utf-8"))


def by_day(document: dict[str, Any]) -> dict[str, list[str]]:
    return {day: [f"{e['service']} {e['tag']}" for e in entries] for day, entries in document["rollbacks"].items()}


def push(registry, repo: str, releases: list[tuple[str, str]]) -> None:
    pusher = ImagePusher(registry.url)
    for tag, created in releases:
        pusher.push_image(repo, tag, created)


def test_get_writes_the_date_index(cli, registry, fleet, tmp_path: Path) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    result = cli("get", REPO_FLAG, "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}")
    after = dt.datetime.now(dt.timezone.utc)
    assert result.code == 0, result.err
    document = load(tmp_path)
    assert document["format"] == 2
    assert document["env"] == "prod"
    assert document["branch"] == "master"
    assert document["registry"] == registry.url
    assert document["all"] == [FLEET + s for s in SERVICES]
    assert document["generated_at"].endswith("Z")
    assert before <= parse_created(document["generated_at"], "generated_at") <= after
    assert list(document["rollbacks"]) == list(EXPECTED)          # newest first
    expected = {
        day: [{"service": FLEET + svc, "tag": tag, "digest": fleet[FLEET + svc][tag], "created": created,
               "image": f"{registry.host}/{FLEET}{svc}:{tag}"} for svc, tag, created in entries]
        for day, entries in EXPECTED.items()
    }
    assert document["rollbacks"] == expected
    # stdout: one label per date, newest first, each service's last release of the day
    assert result.out.splitlines()[:2] == [
        f"2026-11-20 — {FLEET}api 515-master, {FLEET}worker 210-master, {FLEET}auth 406-master, {FLEET}web 308-master",
        f"2026-11-19 — {FLEET}api 512-master, {FLEET}auth 405-master, {FLEET}web 306-master",
    ]
    assert f"2026-11-18 — {FLEET}api 510-master, {FLEET}worker 207-master, {FLEET}web 305-master" in result.out
    # tags that follow no pattern are skipped and counted, not fatal
    assert f"warning: {FLEET}api: skipped 3 tags that follow no tag pattern (develop, hotfix-master, latest)" in result.err
    assert f"warning: {FLEET}auth: skipped 1 tags that follow no tag pattern (latest)" in result.err


def test_dates_after_get(cli, registry, fleet, tmp_path: Path) -> None:
    assert cli("get", REPO_FLAG, "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}").code == 0
    result = cli("dates", f"--dump={tmp_path}")
    assert result.code == 0, result.err
    assert result.out.splitlines() == list(EXPECTED)


def test_platform_arm64_dates_by_the_other_child(cli, registry, fleet, tmp_path: Path) -> None:
    result = cli("get", f"--repo={FLEET}auth", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}",
                 "--platform=linux/arm64")
    assert result.code == 0, result.err
    assert by_day(load(tmp_path)) == {
        "2026-11-21": [f"{FLEET}auth 406-master"], "2026-11-20": [f"{FLEET}auth 405-master"],
        "2026-11-18": [f"{FLEET}auth 402-master"], "2026-11-16": [f"{FLEET}auth 400-master"],
    }


def test_days_in_a_configured_time_zone(cli, registry, fleet, tmp_path: Path) -> None:
    result = cli("get", f"--repo={FLEET}web", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}",
                 "--tz=Europe/Paris")
    assert result.code == 0, result.err
    document = load(tmp_path)
    assert document["timezone"] == "Europe/Paris"
    days = by_day(document)
    # 306-master was built at 23:59:59.999999999Z on the 19th: the 20th in Paris
    assert days["2026-11-20"] == [f"{FLEET}web 306-master", f"{FLEET}web 308-master"]
    assert "2026-11-19" not in days
    assert document["rollbacks"]["2026-11-20"][0]["created"] == "2026-11-19T23:59:59.999999Z"


def test_the_order_comes_from_created_not_from_tags(cli, registry, unique_repo: str, tmp_path: Path) -> None:
    # numeric build order says 99 is newest, the tag list's (lexical) order says 99 too; created says 9
    push(registry, unique_repo, [("9-master", "2026-11-11T12:00:00Z"), ("10-master", "2026-11-11T08:00:00Z"),
                                 ("99-master", "2026-11-10T08:00:00Z")])
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}")
    assert result.code == 0, result.err
    assert by_day(load(tmp_path)) == {
        "2026-11-11": [f"{unique_repo} 10-master", f"{unique_repo} 9-master"],   # both releases of the day
        "2026-11-10": [f"{unique_repo} 99-master"],
    }
    labels = json.loads(cli("dates", f"--dump={tmp_path}", "--json").out)["dates"]
    assert labels[0] == {"date": "2026-11-11", "label": f"2026-11-11 — {unique_repo} 9-master"}

    kept = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}",
               "--keep=1")
    assert kept.code == 0, kept.err
    assert by_day(load(tmp_path)) == {"2026-11-11": [f"{unique_repo} 9-master"]}


@pytest.fixture(scope="module")
def branches_repo(registry) -> str:
    repo = "t/getcli-branches"
    push(registry, repo, [("20-master", "2026-11-10T08:00:00Z"), ("21-hotfix-master", "2026-11-10T09:00:00Z"),
                          ("22-stage", "2026-11-10T10:00:00Z"), ("23-develop", "2026-11-10T11:00:00Z"),
                          ("24-qa", "2026-11-10T12:00:00Z"), ("latest", "2026-11-10T12:00:00Z")])
    return repo


@pytest.mark.parametrize("argv, tags", [
    (("--env=prod",), ["20-master"]),
    (("--env=stage",), ["22-stage"]),
    (("--env=dev",), ["23-develop"]),
    (("--env=prod", "--branch=hotfix-master"), ["21-hotfix-master"]),
    (("--env=qa",), ["24-qa"]),
])
def test_branch_filtering(cli, registry, branches_repo: str, tmp_path: Path, argv: tuple[str, ...],
                          tags: list[str]) -> None:
    result = cli("get", f"--repo={branches_repo}", *argv, f"--registry={registry.url}", f"--dump={tmp_path}")
    assert result.code == 0, result.err
    assert [e["tag"] for e in load(tmp_path)["rollbacks"]["2026-11-10"]] == tags
    # only tags that follow no pattern are reported; other branches are expected and quiet
    warnings = [line for line in result.err.splitlines() if line.startswith("warning")]
    assert warnings == [f"warning: {branches_repo}: skipped 1 tags that follow no tag pattern (latest)"]


def test_custom_tag_pattern(cli, registry, unique_repo: str, tmp_path: Path) -> None:
    push(registry, unique_repo, [("master-abc1234", "2026-11-10T08:00:00Z"), ("stage-def5678", "2026-11-10T09:00:00Z"),
                                 ("512-master", "2026-11-10T10:00:00Z")])
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}",
                 "--tag-pattern=^(?P<branch>[a-z]+)-[0-9a-f]{7}$")
    assert result.code == 0, result.err
    assert [e["tag"] for e in load(tmp_path)["rollbacks"]["2026-11-10"]] == ["master-abc1234"]
    assert "skipped 1 tags that follow no tag pattern (512-master)" in result.err


def test_legacy_usage_line_with_dump(cli, registry, fleet, tmp_path: Path) -> None:
    # the original Ansible role: get --repo=<r> --env=<e> --dump=<d>, registry from the environment
    result = cli("get", f"--repo={FLEET}worker", "--env=prod", f"--dump={tmp_path}",
                 env={"DOCKER_REGISTRY": registry.url})
    assert result.code == 0, result.err
    assert load(tmp_path)["rollbacks"]["2026-11-20"][0]["tag"] == "210-master"


def test_legacy_usage_line_without_dump_writes_in_the_current_folder(cli, registry, fleet, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("get", f"--repo={FLEET}worker", "--env=prod", env={"DOCKER_REGISTRY": registry.url})
    assert result.code == 0, result.err
    assert list(load(tmp_path)["rollbacks"]) == ["2026-11-20", "2026-11-18", "2026-11-17", "2026-11-16", "2026-11-15"]


def test_a_service_without_releases_is_kept_in_all_with_a_warning(cli, registry, fleet, unique_repo: str,
                                                                  tmp_path: Path) -> None:
    push(registry, unique_repo, [("1-develop", "2026-11-10T08:00:00Z")])
    result = cli("get", f"--repo={FLEET}worker,{unique_repo}", "--env=prod", f"--registry={registry.url}",
                 f"--dump={tmp_path}")
    assert result.code == 0, result.err
    assert load(tmp_path)["all"] == [f"{FLEET}worker", unique_repo]
    assert f"warning: {unique_repo}: no release of branch 'master'; a rollback will leave it as it is" in result.err


def test_second_get_reads_no_manifest_or_blob(cli, registry, fleet, proxy_factory, tmp_path: Path) -> None:
    proxy = proxy_factory(registry.url)
    first, second = tmp_path / "first", tmp_path / "second"
    args = ("get", REPO_FLAG, "--env=prod", f"--registry={proxy.url}")
    assert cli(*args, f"--dump={first}").code == 0
    assert proxy.counts["manifests"] >= 23 and proxy.counts["blobs"] >= 18
    proxy.reset_counts()

    result = cli(*args, f"--dump={second}")
    assert result.code == 0, result.err
    assert proxy.counts["manifests"] == 0
    assert proxy.counts["blobs"] == 0
    assert proxy.counts["tags"] == len(SERVICES)        # tags are always listed again: new releases appear
    assert "(23 from cache, 0 fetched)" in result.err
    a, b = load(first), load(second)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b


def test_the_cache_fetches_only_what_is_new(cli, registry, proxy_factory, unique_repo: str, tmp_path: Path) -> None:
    proxy = proxy_factory(registry.url)
    push(registry, unique_repo, [("1-master", "2026-11-10T08:00:00Z"), ("2-master", "2026-11-11T08:00:00Z")])
    args = ("get", f"--repo={unique_repo}", "--env=prod", f"--registry={proxy.url}", f"--dump={tmp_path}")
    assert cli(*args).code == 0
    push(registry, unique_repo, [("3-master", "2026-11-12T08:00:00Z")])
    proxy.reset_counts()
    result = cli(*args)
    assert result.code == 0, result.err
    assert proxy.counts["manifests"] == 1 and proxy.counts["blobs"] == 1   # 3-master's manifest and config
    assert list(load(tmp_path)["rollbacks"]) == ["2026-11-12", "2026-11-11", "2026-11-10"]
    proxy.reset_counts()
    assert cli(*args, "--no-cache").code == 0
    assert proxy.counts["manifests"] == 3


def test_a_broken_cache_file_is_ignored(cli, registry, fleet, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("get", f"--repo={FLEET}worker", "--env=prod", f"--registry={registry.url}", f"--dump={tmp_path}",
            f"--cache-dir={cache}")
    assert cli(*args).code == 0
    (cache_file,) = cache.glob("registry-*.json")
    cache_file.write_text('{"format": 1, "digests": [', encoding="utf-8")
    result = cli(*args)
    assert result.code == 0, result.err
    assert len(load(tmp_path)["rollbacks"]) == 5
    assert json.loads(cache_file.read_text(encoding="utf-8"))["format"] == 1   # rewritten


def test_unknown_repository(cli, registry, fleet, dump: Path) -> None:
    result = cli("get", f"--repo={FLEET}api,t/getcli-no-such-repo", "--env=prod", f"--registry={registry.url}",
                 f"--dump={dump}")
    assert result.code == 2
    assert one_line_error(result) == (f"repository 't/getcli-no-such-repo' does not exist in registry {registry.url}; "
                                      "check --repo")
    assert_previous_kept(dump)


def test_wrong_credentials(cli, registry_basic, unique_repo: str, dump: Path) -> None:
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}", f"--dump={dump}",
                 env={"REGISTRY_USER": "ci", "REGISTRY_PASSWORD": "wrong-password"})
    assert result.code == 4
    line = one_line_error(result)
    assert line.startswith(f"registry {registry_basic.url} refused the credentials for {unique_repo} (HTTP 401)")
    assert "check REGISTRY_USER/REGISTRY_PASSWORD" in line
    assert "wrong-password" not in result.err
    assert_previous_kept(dump)


def test_missing_credentials(cli, registry_basic, unique_repo: str, dump: Path) -> None:
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_basic.url}", f"--dump={dump}")
    assert result.code == 4
    assert "requires a login: set REGISTRY_USER and REGISTRY_PASSWORD" in one_line_error(result)
    assert_previous_kept(dump)


@pytest.mark.network
def test_registry_down(cli, dump: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("get", "--repo=api", "--env=prod", f"--registry=http://127.0.0.1:{port}", f"--dump={dump}")
    assert result.code == 4
    assert one_line_error(result) == (f"cannot reach registry at http://127.0.0.1:{port} (connection refused); "
                                      "check the URL and that the service is up")
    assert_previous_kept(dump)


def test_registry_dying_mid_run(cli, registry, fleet, proxy_factory, dump: Path) -> None:
    proxy = proxy_factory(registry.url, die_after=8)
    result = cli("get", REPO_FLAG, "--env=prod", f"--registry={proxy.url}", f"--dump={dump}", "--no-cache")
    assert result.code == 4
    assert f"registry at {proxy.url}" in one_line_error(result)
    assert_previous_kept(dump)


def test_tls_failure(cli, registry_tls, unique_repo: str, dump: Path) -> None:
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry_tls.url}", f"--dump={dump}")
    assert result.code == 4
    line = one_line_error(result)
    assert line.startswith(f"TLS verification failed for registry at {registry_tls.url}")
    assert "pass --ca-bundle=<file> for a private CA" in line
    assert_previous_kept(dump)


def test_malformed_manifest(cli, registry, fleet, proxy_factory, dump: Path) -> None:
    def rewrite(path: str):
        if path == f"/v2/{FLEET}api/manifests/509-master":
            return canned(200, b'{"schemaVersion": 2, "config": {"dig', DOCKER_MANIFEST)
        return None

    proxy = proxy_factory(registry.url, rewrite=rewrite)
    result = cli("get", REPO_FLAG, "--env=prod", f"--registry={proxy.url}", f"--dump={dump}", "--no-cache")
    assert result.code == 1
    assert one_line_error(result) == (f"manifest {FLEET}api:509-master is not valid JSON; "
                                      "fix or delete that tag in the registry")
    assert_previous_kept(dump)


def test_a_config_without_created(cli, registry, unique_repo: str, dump: Path) -> None:
    ImagePusher(registry.url).push_image(unique_repo, "4-master", None)
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry.url}", f"--dump={dump}")
    assert result.code == 1
    assert one_line_error(result) == f"{unique_repo}:4-master config has no 'created' time"
    assert_previous_kept(dump)


def test_nothing_found(cli, registry, unique_repo: str, dump: Path) -> None:
    push(registry, unique_repo, [("5-develop", "2026-11-10T08:00:00Z"), ("latest", "2026-11-10T08:00:00Z")])
    result = cli("get", f"--repo={unique_repo}", "--env=prod", f"--registry={registry.url}", f"--dump={dump}")
    assert result.code == 2
    assert one_line_error(result) == (f"no release of branch 'master' in {unique_repo}; check --env (and the branch "
                                      "mapping or --tag-pattern); the previous rollback.json is kept")
    assert f"warning: {unique_repo}: skipped 1 tags that follow no tag pattern (latest)" in result.err
    assert_previous_kept(dump)


def test_bad_env_is_refused_before_any_request(cli, registry, proxy_factory, dump: Path) -> None:
    proxy = proxy_factory(registry.url)
    result = cli("get", "--repo=api", "--env=Prod", f"--registry={proxy.url}", f"--dump={dump}")
    assert result.code == 2
    assert "(found: 'Prod')" in one_line_error(result)
    assert proxy.counts["total"] == 0
    assert_previous_kept(dump)


@pytest.mark.slow
def test_rollback_py_as_a_script(registry, fleet, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DOCKER_REGISTRY")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    get = subprocess.run(
        [sys.executable, "rollback.py", "get", REPO_FLAG, "--env=prod", f"--registry={registry.url}",
         f"--dump={tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert get.returncode == 0, get.stderr
    assert (tmp_path / "rollback.json").is_file()
    dates = subprocess.run([sys.executable, "rollback.py", "dates", f"--dump={tmp_path}"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert dates.returncode == 0, dates.stderr
    assert dates.stdout.splitlines() == list(EXPECTED)
    bad = subprocess.run([sys.executable, "rollback.py", "get", "--repo=api", "--env=prod", "--keep=x"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr == 'error: --keep must be a positive integer (found: "x")\n'
