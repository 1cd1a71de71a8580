"""Bad input, table-driven (docs/reliability.md): one clear line naming the bad value, the documented exit code,
no traceback, and nothing changed (no PUT reaches Marathon, no file in --dump is written).

Every case runs through ``main()`` against the real registry and a Marathon simulator, with a
good rollback.json in --dump; a case may replace rollback.json, write a config file or a
snapshot, or change the simulator's apps.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.fleet import populate
from tests.fleet_support import Indexed, index_sample_fleet

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "t/rel-bad/"
P = PREFIX
NAMES = ["api", "worker", "auth", "web"]
REPOS = "--repo=" + ",".join(P + n for n in NAMES)
RUN = ("run", "--date=2026-11-19", "--env=prod", "--dump={dump}")


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[P + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


# --- what a case may change before it runs -------------------------------------------------------

def release(**changes: str) -> Callable[[dict[str, Any]], str]:
    """rollback.json whose only release on 2026-11-19 is api's, with ``changes`` applied."""
    def make(index: dict[str, Any]) -> str:
        entry = {"service": P + "api", "tag": "512-master", "created": "2026-11-19T11:00:00Z",
                 "digest": "sha256:" + "a" * 64, "image": "registry.example.com/api:512-master", **changes}
        return json.dumps({**index, "rollbacks": {"2026-11-19": [entry]}})
    return make


def index_with(**changes: Any) -> Callable[[dict[str, Any]], str]:
    return lambda index: json.dumps({**index, **changes})


def text(value: str | bytes) -> Callable[[dict[str, Any]], str | bytes]:
    return lambda index: value


def on_day(key: str) -> Callable[[dict[str, Any]], str]:
    """rollback.json whose one date key is ``key`` (a valid release under it)."""
    return lambda index: json.dumps({**index, "rollbacks": {key: json.loads(release()(index))["rollbacks"]["2026-11-19"]}})


def snapshot_app(**changes: Any) -> str:
    """A snapshot whose one app entry has ``changes`` applied."""
    return json.dumps({**SNAPSHOT_OK, "apps": [{**SNAPSHOT_OK["apps"][0], **changes}]})


def ledger_line(**changes: Any) -> str:
    """A ledger whose one good entry of prod has ``changes`` applied."""
    entry = {"at": "2026-11-21T20:00:00Z", "command": "run", "env": "prod", "state": "SUCCEEDED", "actor": "alice",
             "images": {P + "api": "registry.example.com/api:512-master"}, **changes}
    return json.dumps(entry) + "\n"


# 9 levels of 9 aliases: 324 bytes of YAML that expand to 9**9 strings when aliases are followed
ALIAS_BOMB = "a: &a [" + ",".join(["lol"] * 9) + "]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def truncated(index: dict[str, Any]) -> str:
    whole = json.dumps(index, indent=2)
    return whole[: len(whole) // 2]


def without_web(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in apps if not a["id"].endswith("/web")]


def with_a_second_web(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    twin = json.loads(json.dumps(next(a for a in apps if a["id"].endswith("/web"))))
    twin["id"] = "/ds/prod/other/web"
    return apps + [twin]


SNAPSHOT_OK = {"format": 1, "env": "prod", "command": "run", "marathon": "http://m", "taken_at": "2026-11-21T20:00:00Z",
               "apps": [{"service": P + "api", "app_id": "/ds/prod/shop/api", "image": "r/api:1-master"}]}


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: int
    names: str  # must appear in the one error line: the bad value (or the file it is in)
    index: Callable[[dict[str, Any]], str | bytes] | None = None
    config: str | bytes | None = None
    snapshot: str | bytes | None = None
    ledger: str | bytes | None = None  # dump/ledger.jsonl
    pwd_file: bytes | None = None  # a file at {pwd_file}
    apps: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    no_index: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def run_(*extra: str, **kw: Any) -> Case:
    code, names = kw.pop("code", 2), kw.pop("names")
    timeout = () if any(e.startswith("--timeout") for e in extra) else ("--timeout=2",)
    return Case(RUN + timeout + extra, code, names, **kw)


def with_date(date: str, names: str | None = None, command: str = "run") -> Case:
    return Case((command, f"--date={date}", "--env=prod", "--dump={dump}"), 2, date if names is None else names)


def get_(*extra: str, names: str, repo: str = REPOS) -> Case:
    return Case(("get", repo, "--env=prod", "--dump={dump}", "--no-cache", *extra), 2, names)


def deploy_(*extra: str, names: str) -> Case:
    return Case(("deploy", "--env=prod", "--dump={dump}", "--timeout=2", *extra), 2, names)


def last_good_(ledger: str | bytes, names: str) -> Case:
    return Case(("run", "--to=last-good", "--env=prod", "--dump={dump}", "--timeout=2"), 2, names, ledger=ledger)


def undo_(snapshot: str | bytes | None, names: str, path: str = "{snapshot}") -> Case:
    return Case(("undo", f"--snapshot={path}", "--dump={dump}", "--timeout=2"), 2, names, snapshot=snapshot)


CASES = {
    # dates: malformed, not offered, in the future, shell metacharacters, path traversal
    "date-day-first": with_date("19-11-2026"),
    "date-not-on-the-calendar": with_date("2026-02-30"),
    "date-unicode-digits": with_date("２０２６-11-19"),
    "date-empty": with_date("", names="--date"),
    "date-not-in-the-index": with_date("2026-11-14", names="2026-11-14 is not offered by rollback.json; nearest dates: "
                                                           "2026-11-17, 2026-11-16, 2026-11-15"),
    "date-in-the-future": with_date("2099-01-01"),
    "date-not-in-the-index-plan": with_date("2026-11-21", command="plan"),
    "date-shell-metacharacters": with_date("2026-11-19;rm -rf /"),
    "date-command-substitution": with_date("$(reboot)"),
    "date-path-traversal": with_date("../../etc/passwd"),
    # environments
    "env-path-traversal": Case(("run", "--date=2026-11-19", "--env=../prod", "--dump={dump}"), 2, "'../prod'"),
    "env-shell-metacharacters": Case(("run", "--date=2026-11-19", "--env=prod;ls", "--dump={dump}"), 2, "'prod;ls'"),
    "env-trailing-newline": Case(("plan", "--date=2026-11-19", "--env=prod\n", "--dump={dump}"), 2, "'prod\\n'"),
    "env-upper-case": Case(("run", "--date=2026-11-19", "--env=PROD", "--dump={dump}"), 2, "'PROD'"),
    "env-nested-path": Case(("get", REPOS, "--env=prod/shop", "--dump={dump}"), 2, "'prod/shop'"),
    "env-not-the-index-env": Case(("run", "--date=2026-11-19", "--env=stage", "--dump={dump}"), 2,
                                  "was made for env 'prod', not 'stage'"),
    # service lists
    "repo-shell-metacharacters": get_(names="'a;b'", repo="--repo=a;b"),
    "repo-command-substitution": get_(names="'$(whoami)'", repo="--repo=$(whoami)"),
    "repo-path-traversal": get_(names="'../etc'", repo="--repo=../etc"),
    "repo-upper-case": get_(names="'API'", repo="--repo=API"),
    "repo-empty": get_(names="--repo must be a comma-separated list", repo="--repo="),
    "repo-empty-item": get_(names="'api,,web'", repo="--repo=api,,web"),
    "repo-duplicated": get_(names="'api' twice", repo="--repo=api,web,api"),
    "repo-not-in-the-registry": get_(names=f"'{P}nosuch' does not exist", repo=f"--repo={P}api,{P}nosuch"),
    # deploy's images
    "image-without-tag": deploy_(f"--image={P}api", names=f"'{P}api'"),
    "image-duplicated": deploy_(f"--image={P}api=1-master", f"--image={P}api=2-master", names=f"'{P}api' twice"),
    "image-tag-shell-metacharacters": deploy_(f"--image={P}api=1;rm -rf", names="1;rm -rf"),
    "image-service-path-traversal": deploy_("--image=../api=1-master", names="'../api'"),
    "image-service-without-app": deploy_(f"--image={P}nosuch=1-master", names=f"{P}nosuch: no Marathon app"),
    "health-url-not-http": deploy_(f"--image={P}api=1-master", f"--health-url={P}api=file:///etc/passwd",
                                   names="'file:///etc/passwd'"),
    "health-url-of-no-image": deploy_(f"--image={P}api=1-master", f"--health-url={P}web=http://x/health",
                                      names=f"{P}web, which no --image deploys"),
    # app ids
    "app-missing": run_(names=f"{P}web: no Marathon app", apps=without_web),
    "app-ambiguous": run_(names="several apps match (/ds/prod/other/web, /ds/prod/shop/web)", apps=with_a_second_web),
    "app-configured-missing": run_("--config={config}", names="/ds/prod/nope does not exist",
                                   config=f"apps:\n  {P}api: /ds/prod/nope\n"),
    # rollback.json
    "index-missing": run_(names="no rollback.json in", no_index=True),
    "index-truncated": run_(names="rollback.json is not a usable rollback.json: invalid JSON", index=truncated),
    "index-empty": run_(names="is not a usable rollback.json: invalid JSON at line 1", index=text("")),
    "index-binary": run_(names="is not a usable rollback.json", index=text("\x00\x01PK\x03\x04 zip?")),
    "index-foreign-json": run_(names="format is 'missing', this tool reads format 2",
                               index=text('{"name": "left-pad", "version": "1.0.0"}')),
    "index-of-the-original-script": run_(names="format is 'missing'",
                                         index=text('{"all": ["api"], "rollbacks": {"2026-11-19": ["api:512"]}}')),
    "index-json-array": run_(names="it is not a JSON object", index=text("[1, 2, 3]")),
    "index-older-format": run_(names="format is 1, this tool reads format 2", index=index_with(format=1)),
    "index-rollbacks-not-a-dict": run_(names="'rollbacks' is missing or not a dict", index=index_with(rollbacks=[])),
    "index-date-key-shell": run_(names="date key '2026-11-19;reboot' is not YYYY-MM-DD",
                                 index=index_with(rollbacks={"2026-11-19;reboot": []})),
    "index-tag-shell": run_(names="'1;rm -rf' is not a valid image tag", index=release(tag="1;rm -rf")),
    "index-tag-newline": run_(names="'512-master\\n' is not a valid image tag", index=release(tag="512-master\n")),
    "index-created-unreadable": run_(names=f"release {P}api:512-master has an unreadable created time",
                                     index=release(created="yesterday")),
    "index-release-lacks-fields": run_(names="a release of 2026-11-19 lacks tag, image",
                                       index=lambda i: json.dumps({**i, "rollbacks": {"2026-11-19": [{"service": "x",
                                                                   "created": "2026-11-19T10:00:00Z"}]}})),
    "index-unknown-time-zone": run_(names="unknown time zone 'Mars/Olympus'", index=index_with(timezone="Mars/Olympus")),
    # the config file
    "config-unknown-key": run_("--config={config}", names="unknown key 'registy'", config="registy: https://x\n"),
    "config-wrong-type": run_("--config={config}", names="'parallel' must be int (parallel deployments in a wave), "
                              "found str: 'four'", config="parallel: four\n"),
    "config-bool-for-int": run_("--config={config}", names="'concurrency' must be int", config="concurrency: true\n"),
    "config-secret": run_("--config={config}", names="'marathon_password' looks like a secret",
                          config="marathon_password: hunter2\n"),
    "config-not-yaml": run_("--config={config}", names="is not valid YAML at line", config="waves: [[api\n"),
    "config-a-list": run_("--config={config}", names="must be a mapping of keys to values (found: list)",
                          config="- api\n- web\n"),
    "config-wave-twice": run_("--config={config}", names=f"'waves' lists {P}api more than once",
                              config=f"waves: [[{P}api], [{P}api]]\n"),
    "config-unknown-failure-class": run_("--config={config}", names="unknown classes ['flaky']",
                                         config="rollback_on: [flaky]\n"),
    "config-missing-file": run_("--config=/nonexistent/rollback.yaml", names="/nonexistent/rollback.yaml"),
    # options of the wrong type
    "keep-not-a-number": get_("--keep=x", names='--keep must be a positive integer (found: "x")'),
    "keep-zero": get_("--keep=0", names='(found: "0")'),
    "timeout-negative": run_("--timeout=-1", names='--timeout must be a positive number of seconds (found: "-1")'),
    "timeout-nan": run_("--timeout=nan", names='(found: "nan")'),
    "parallel-zero": run_("--parallel=0", names='--parallel must be a positive integer (found: "0")'),
    "concurrency-fraction": get_("--concurrency=1.5", names='(found: "1.5")'),
    "on-failure-maybe": run_("--on-failure=maybe", names='--on-failure must be one of stop, continue, revert '
                             '(found: "maybe")'),
    "auto-rollback-yes": deploy_(f"--image={P}api=1-master", "--auto-rollback=yes",
                                 names='--auto-rollback must be on or off (found: "yes")'),
    "to-not-last-good": Case(("run", "--to=yesterday", "--env=prod", "--dump={dump}"), 2, "'yesterday'"),
    "tz-unknown": run_("--tz=Mars/Olympus", names="unknown time zone 'Mars/Olympus'"),
    "marathon-not-http": run_("--marathon=ftp://ops:pw@marathon", names="'ftp://<hidden>@marathon'"),
    "platform-malformed": get_("--platform=amd64", names='(found: "amd64")'),
    "tag-pattern-without-branch": get_(r"--tag-pattern=^\d+$", names="needs a named group (?P<branch>...)"),
    # the command line itself
    "unknown-flag": run_("--colour=blue", names="unknown option --colour"),
    "unknown-short-flag": run_("-x", names="unknown option -x"),
    "flag-of-another-command": Case(("dates", "--dump={dump}", "--timeout=3"), 2, "dates does not accept --timeout"),
    "unknown-command": Case(("rewind", "--date=2026-11-19"), 2, "unknown command (commands:"),
    "no-command": Case((), 2, "no command"),
    "missing-date": Case(("run", "--env=prod", "--dump={dump}"), 2, "run needs --date or --at or --to or --plan"),
    "date-and-to": Case(("run", "--date=2026-11-19", "--to=last-good", "--env=prod"), 2,
                        "--date and --to cannot be used together"),
    "env-twice": Case(("run", "--date=2026-11-19", "--env=prod", "--env=dev"), 2, "--env is given more than once"),
    # snapshots for undo
    "snapshot-missing": undo_(None, "does not exist", path="{dump}/snapshot-20261121T200000Z.json"),
    "snapshot-truncated": undo_(json.dumps(SNAPSHOT_OK)[:40], "is not a usable snapshot: invalid JSON"),
    "snapshot-foreign": undo_('{"images": ["api:1"]}', "is not a usable snapshot: format must be 1"),
    "snapshot-path-traversal": undo_(None, "/etc/passwd is not a usable snapshot", path="{dump}/" + "../" * 16 + "etc/passwd"),
    "snapshot-app-without-id": undo_(json.dumps({**SNAPSHOT_OK, "apps": [{"service": "api", "image": "r/api:1"}]}),
                                     "an app entry lacks service or app_id"),
    "snapshot-without-images": undo_(json.dumps({**SNAPSHOT_OK, "apps": [{**SNAPSHOT_OK["apps"][0], "image": None}]}),
                                     "records no images to put back"),
    # files that come back in are untrusted: the same checks as typed input, one error naming the file
    "snapshot-env-path-traversal": undo_(json.dumps({**SNAPSHOT_OK, "env": "x/../../etc"}), "'x/../../etc'"),
    "snapshot-env-too-long": undo_(json.dumps({**SNAPSHOT_OK, "env": "p" * 300}), "at most 63 characters"),
    "snapshot-image-shell": undo_(snapshot_app(image="r/api:1;rm -rf /"), "image of t/rel-bad/api"),
    "snapshot-image-newline": undo_(snapshot_app(image="r/api:1-master\n"), "'r/api:1-master\\n' is not an image"),
    "snapshot-image-number": undo_(snapshot_app(image=512), "512 is not an image reference"),
    "snapshot-image-bad-host": undo_(snapshot_app(image="r;id.example.com/api:1"), "malformed registry host"),
    "snapshot-app-id-path-traversal": undo_(snapshot_app(app_id="/ds/../../etc"), "is not a Marathon app id"),
    "snapshot-service-shell": undo_(snapshot_app(service="api;id"), "'api;id' is not a valid service name"),
    "snapshot-service-twice": undo_(json.dumps({**SNAPSHOT_OK, "apps": SNAPSHOT_OK["apps"] * 2}), "is listed twice"),
    "snapshot-not-utf8": undo_(b'{"format": 1, "env": "\xff\xfe"}', "is not a usable snapshot: it is not UTF-8"),
    "ledger-image-shell": last_good_(ledger_line(images={P + "api": "api:1;rm -rf /"}), "ledger.jsonl, line 1"),
    "ledger-image-newline": last_good_(ledger_line(images={P + "api": "r/api:1-master\n"}), "is not an image"),
    "ledger-image-number": last_good_(ledger_line(images={P + "api": 7}), "7 is not an image reference"),
    "ledger-service-path-traversal": last_good_(ledger_line(images={"../api": "r/api:1"}), "'../api'"),
    "ledger-not-utf8": last_good_(b"\xff\xfe{}\n", "ledger.jsonl is not UTF-8 text"),
    "index-date-key-basic-format": run_(names="date key '20261118' is not YYYY-MM-DD", index=on_day("20261118")),
    "index-date-key-week-date": run_(names="date key '2026-W47-3' is not YYYY-MM-DD", index=on_day("2026-W47-3")),
    "index-date-key-ordinal": run_(names="date key '2026-323' is not YYYY-MM-DD", index=on_day("2026-323")),
    "index-date-key-full-width": run_(names="is not YYYY-MM-DD", index=on_day("２０２６-11-19")),
    "index-tag-full-width-digits": run_(names="'５１２-master' is not a valid image tag", index=release(tag="５１２-master")),
    "index-image-shell": run_(names="has a malformed tag '1;rm'", index=release(image="r.example.com/api:1;rm")),
    "index-image-number": run_(names="lacks image", index=release(image=5)),  # type: ignore[arg-type]
    "index-service-path-traversal": run_(names="'../api'", index=release(service="../api")),
    "index-created-year-1": run_(names="unreadable created time '0001-01-01T00:00:00+01:00'",
                                 index=release(created="0001-01-01T00:00:00+01:00")),
    "index-created-year-9999": run_(names="(years 1970-8999 are accepted)", index=release(created="9999-12-31T23:00:00-05:00")),
    "index-env-path-traversal": run_(names="'../prod'", index=index_with(env="../prod")),
    "index-tag-huge": run_(names="... (5002 characters) is not a valid image tag", index=release(tag="7" * 5000)),
    "index-format-huge": run_(names="... (100002 characters), this tool reads format 2", index=index_with(format="f" * 100000)),
    "index-not-utf8": run_(names="rollback.json: it is not UTF-8 text", index=text(b'{"format": 2, "env": "\xe9"}')),
    "config-yaml-alias-bomb": run_("--config={config}", names="uses a YAML alias or anchor at line 1", config=ALIAS_BOMB),
    "config-yaml-anchor": run_("--config={config}", names="uses a YAML alias",
                               config="timeout: &t 30\nhealth_grace: *t\n"),
    "config-not-utf8": run_("--config={config}", names="is not UTF-8 text (byte 9)", config=b"timeout: \xff\n"),
    "config-huge-value": run_("--config={config}", names="... (3002 characters)", config="timeout: " + "x" * 3000 + "\n"),
    "pwd-file-not-utf8": run_("--pwd-file={pwd_file}", names="is not UTF-8 text", pwd_file=b"\xff\xfepw"),
    "timeout-full-width-digits": run_("--timeout=１０", names='(found: "１０")'),
    "parallel-full-width-digits": run_("--parallel=４", names='(found: "４")'),
    "keep-arabic-indic-digits": get_("--keep=٣", names='(found: "٣")'),
    "env-too-long": Case(("plan", "--date=2026-11-19", "--env=" + "e" * 300, "--dump={dump}"), 2, "at most 63"),
    # JSON or YAML nested deeper than the decoder follows (RecursionError, not ValueError), devices
    "index-nested-deeply": run_(names="rollback.json: JSON nested too deeply", index=text("[" * 100000)),
    "snapshot-nested-deeply": undo_('{"a": ' * 100000, "is not a usable snapshot: invalid JSON"),
    "config-nested-deeply": run_("--config={config}", names="is nested too deeply", config="[" * 100000),
    "config-is-a-device": run_("--config=/dev/zero", names="/dev/zero: it is not a regular file"),
    "snapshot-is-a-device": undo_(None, "/dev/urandom: it is not a regular file", path="/dev/urandom"),
    # a whole-definition snapshot's versions go to Marathon as they are: checked like the rest
    "snapshot-version-path": undo_(json.dumps({**SNAPSHOT_OK, "whole": True, "apps": [{**SNAPSHOT_OK["apps"][0],
                                   "version": "../../v2/apps/ds/prod/shop/web?force=true"}]}),
                                   "version of t/rel-bad/api: '../../v2/apps/ds/prod/shop/web?force=true' is not a"),
    "snapshot-version-newline": undo_(snapshot_app(version="2026-11-19T10:05:00.123Z\nstate: SUCCEEDED"),
                                      "is not a Marathon version"),
    "snapshot-version-number": undo_(snapshot_app(version=1763546700), "1763546700 is not a Marathon version"),
    "snapshot-version-full-width": undo_(snapshot_app(version="２０２６-11-19T10:05:00.123Z"), "is not a Marathon version"),
    "snapshot-version-huge": undo_(snapshot_app(version="2" * 100000), "(100002 characters) is not a Marathon version"),
    # numbers too large to use: a connection pool of 10**8 is allocated up front; 5,000 digits cannot convert
    "parallel-huge": run_("--parallel=100000000", names='--parallel must be a positive integer of at most 1000'),
    "concurrency-huge": get_("--concurrency=100000000", names="--concurrency must be a positive integer of at most 256"),
    "config-parallel-huge": run_("--config={config}", names="of at most 1000", config="parallel: 100000000\n"),
    "keep-5000-digits": get_("--keep=" + "9" * 5000, names='(found: "99999'),
    "config-int-5000-digits": run_("--config={config}", names="holds a number too long to read",
                                   config="parallel: " + "9" * 5000 + "\n"),
    "timeout-1e300": run_("--timeout=1e300", names='--timeout must be a positive number of seconds of at most'),
}


def _fill(value: str, **places: str) -> str:
    for key, place in places.items():
        value = value.replace("{" + key + "}", place)
    return value


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_is_one_clear_line_the_documented_code_and_no_change(
        indexed: Indexed, tmp_path: Path, cli, case: Case) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    if not case.no_index:
        _write(dump / "rollback.json", case.index(indexed.index) if case.index else indexed.index_text)
    config = tmp_path / "rollback.yaml"
    if case.config is not None:
        _write(config, case.config)
    snapshot = dump / "snapshot-20261121T200000Z.json"
    if case.snapshot is not None:
        _write(snapshot, case.snapshot)
    if case.ledger is not None:
        _write(dump / "ledger.jsonl", case.ledger)
    pwd_file = tmp_path / "marathon-password"
    if case.pwd_file is not None:
        pwd_file.write_bytes(case.pwd_file)
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    before = _files(dump)
    with Simulator(apps=case.apps(apps) if case.apps else apps, deploy_seconds=0.1) as sim:
        argv = [_fill(a, dump=str(dump), config=str(config), snapshot=str(snapshot), pwd_file=str(pwd_file))
                for a in case.argv]
        result = cli(*argv, env={"MARATHON_URL": sim.url, "DOCKER_REGISTRY": indexed.registry_url})
        writes = [(r["method"], r["path"]) for r in sim.requests if r["method"] not in ("GET", "HEAD")]

    assert result.code == case.code, (result.out, result.err)
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert case.names in errors[0], errors[0]
    assert "Traceback" not in result.out + result.err
    assert "internal error" not in result.err
    assert len(errors[0]) < 600, "a message never carries a whole value"
    assert result.out == ""
    assert writes == []
    assert _files(dump) == before, "bad input must not write anything in --dump"


# --- tags that follow no pattern: a warning, not an error ---------------------------------------------

def test_tags_matching_no_pattern_are_a_warning_naming_them_and_get_exits_0(indexed: Indexed, tmp_path: Path,
                                                                           cli) -> None:
    result = cli("get", f"--repo={P}api,{P}auth", "--env=prod", f"--dump={tmp_path}", "--no-cache",
                 env={"DOCKER_REGISTRY": indexed.registry_url})

    assert result.code == 0, result.err
    assert [line for line in result.err.splitlines() if line.startswith("error:")] == []
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert f"warning: {P}api: skipped 3 tags that follow no tag pattern (develop, hotfix-master, latest)" in warnings
    assert f"warning: {P}auth: skipped 1 tags that follow no tag pattern (latest)" in warnings
    tags = {r["tag"] for day in json.loads((tmp_path / "rollback.json").read_text())["rollbacks"].values() for r in day}
    assert not tags & {"develop", "hotfix-master", "latest"}


def test_a_service_with_no_tag_of_the_branch_is_a_warning_and_the_rest_is_indexed(
        indexed: Indexed, registry: Any, unique_repo: str, tmp_path: Path, cli) -> None:
    populate(registry.url, {"lonely": [("latest", "2026-11-19T10:00:00Z"), ("7-develop", "2026-11-18T10:00:00Z")]},
             prefix=unique_repo + "/")
    result = cli("get", f"--repo={P}api,{unique_repo}/lonely", "--env=prod", f"--dump={tmp_path}", "--no-cache",
                 env={"DOCKER_REGISTRY": indexed.registry_url})

    assert result.code == 0, result.err
    assert f"warning: {unique_repo}/lonely: no release of branch 'master'; a rollback will leave it as it is" \
        in result.err.splitlines()


def test_only_tags_matching_no_pattern_exit_2_and_keep_the_previous_rollback_json(
        indexed: Indexed, registry: Any, unique_repo: str, tmp_path: Path, cli) -> None:
    populate(registry.url, {"odd": [("latest", "2026-11-19T10:00:00Z"), ("nightly", "2026-11-18T10:00:00Z")]},
             prefix=unique_repo + "/")
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    result = cli("get", f"--repo={unique_repo}/odd", "--env=prod", f"--dump={tmp_path}", "--no-cache",
                 env={"DOCKER_REGISTRY": indexed.registry_url})

    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"no release of branch 'master' in {unique_repo}/odd" in errors[0]
    assert "the previous rollback.json is kept" in errors[0]
    assert f"warning: {unique_repo}/odd: skipped 2 tags that follow no tag pattern (latest, nightly)" in result.err
    assert (tmp_path / "rollback.json").read_text() == indexed.index_text


@pytest.mark.parametrize("fifo, argv, names", [
    ("rollback.json", ("dates", "--dump={dump}"), "rollback.json: it is not a regular file"),
    ("snapshot.json", ("undo", "--snapshot={dump}/snapshot.json", "--dump={dump}"), "snapshot.json: it is not a regular"),
    ("ledger.jsonl", ("run", "--to=last-good", "--env=prod", "--dump={dump}"), "ledger.jsonl: it is not a regular file"),
    ("rollback.yaml", ("dates", "--dump={dump}", "--config={dump}/rollback.yaml"), "it is not a regular file"),
])
@pytest.mark.slow
def test_a_fifo_in_place_of_a_file_is_one_error_not_a_hang(indexed: Indexed, tmp_path: Path, fifo: str,
                                                           argv: tuple[str, ...], names: str) -> None:
    """Opening a FIFO for reading waits for a writer forever: anyone who can write --dump could stop every run.

    A subprocess, so that the hang it guards against fails the test instead of holding the suite."""
    dump = tmp_path / "dump"
    dump.mkdir()
    if fifo != "rollback.json":
        (dump / "rollback.json").write_text(indexed.index_text)
    os.mkfifo(dump / fifo)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARATHON_", "ROLLBACK_", "DOCKER_REGISTRY")) or k == "ROLLBACK_LOCK_DIR"}
    result = subprocess.run([sys.executable, str(ROOT / "rollback.py"), *[a.replace("{dump}", str(dump)) for a in argv]],
                            env={**env, "MARATHON_URL": "http://127.0.0.1:1"}, cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert names in line


DOCKER_SECRET = "Docker-Secret-Passw0rd-77"


@pytest.mark.parametrize("entry, names", [
    ({"auth": 12345}, "('auth' is not a string)"),
    ({"username": 5, "password": ["x"]}, "('username' is not a string)"),
    ({"username": "ci", "password": {"v": DOCKER_SECRET}}, "('password' is not a string)"),
    ("a string", "(it is not a mapping)"),
    ({"auth": base64.b64encode(("nocolon" + DOCKER_SECRET).encode()).decode()}, "is not valid base64 user:password"),
])
def test_a_docker_config_entry_of_the_wrong_shape_is_one_error_naming_the_file(
        indexed: Indexed, tmp_path: Path, cli, entry: Any, names: str) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auths": {indexed.host: entry}}))
    dump = tmp_path / "dump"

    result = cli("get", REPOS, "--env=prod", f"--dump={dump}", "--no-cache", f"--registry={indexed.registry_url}",
                 env={"DOCKER_CONFIG": str(folder)})

    assert result.code == 2, result.err
    [line] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert f"docker config {folder / 'config.json'}" in line and names in line
    assert "internal error" not in result.err and DOCKER_SECRET not in result.err
    assert not dump.exists() or not (dump / "rollback.json").exists()
