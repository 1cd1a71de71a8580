"""Settings: flag > environment > config file > default, and every bad value refused with the value shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.planning.make import PlanRequest
from fleetrewind.settings.build import Door, from_args, read
from fleetrewind.settings.commands import PlanSettings, RunSettings, dumps_settings
from fleetrewind.usage import CommandLine, parse_command_line

PLAN = ("plan", "--date=2026-11-19", "--env=prod")
GET = ("get", "--repo=api,web", "--env=prod")


def settings(*argv: str, env: dict[str, str] | None = None) -> Door:
    """Every value as the door read it (each command's settings are made from these)."""
    return read(_args(*argv), env or {})


def _args(*argv: str) -> CommandLine:
    return parse_command_line(list(argv))


def refused(*argv: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        settings(*argv, env=env)
    assert caught.value.exit_code == 2
    return str(caught.value)


@pytest.fixture
def config(tmp_path: Path):
    """Write a YAML config file and return the --config flag for it."""
    def write(text: str, name: str = "rollback.yml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return f"--config={path}"
    return write


# -- precedence -------------------------------------------------------------------------------

# setting, flag, environment variable, config key, (flag, env, config) values, how a value shows, default
PRECEDENCE: list[tuple[str, str, str, str, tuple[str, str, str], Any, Any]] = [
    ("registry_url", "--registry", "DOCKER_REGISTRY", "registry",
     ("https://flag.example:5000", "https://env.example", "http://config.example"), str, None),
    ("marathon_url", "--marathon", "MARATHON_URL", "marathon",
     ("https://flag.example/marathon", "https://env.example:8080", "http://config.example"), str, None),
    ("tz", "--tz", "ROLLBACK_TZ", "timezone",
     ("Europe/Paris", "America/New_York", "Asia/Tokyo"), ZoneInfo, dt.timezone.utc),
    ("marathon_user", "--user", "MARATHON_USER", "marathon_user", ("alice", "bob", "carol"), str, None),
    ("slack_channel", "--slack-channel", "SLACK_CHANNEL", "slack_channel", ("#flag", "#env", "#config"), str, None),
    ("cache_dir", "--cache-dir", "ROLLBACK_CACHE_DIR", "cache_dir", ("/flag/cache", "/env/cache", "/config/cache"),
     Path, Path("/xdg/fleetrewind")),
    ("ledger", "--ledger", "ROLLBACK_LEDGER", "ledger", ("/flag/l.jsonl", "/env/l.jsonl", "/config/l.jsonl"),
     Path, Path("ledger.jsonl")),
]


@pytest.mark.parametrize("attr, flag, var, key, values, shown, default", PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
@pytest.mark.parametrize("levels, winner", [
    (("flag", "env", "config"), 0),
    (("env", "config"), 1),
    (("config",), 2),
    ((), None),
])
def test_flag_beats_environment_beats_config_beats_default(
    config, attr: str, flag: str, var: str, key: str, values: tuple[str, str, str], shown: Any, default: Any,
    levels: tuple[str, ...], winner: int | None,
) -> None:
    argv = [*PLAN, config(f"{key}: {values[2]!r}\n" if "config" in levels else "{}\n")]
    if "flag" in levels:
        argv.append(f"{flag}={values[0]}")
    env = {"XDG_CACHE_HOME": "/xdg"}
    if "env" in levels:
        env[var] = values[1]
    got = getattr(settings(*argv, env=env), attr)
    assert got == (default if winner is None else shown(values[winner]))


def test_config_file_named_by_flag_beats_environment(config) -> None:
    from_flag = config("registry: https://from-flag-file\n", "a.yml")
    from_env = config("registry: https://from-env-file\n", "b.yml").split("=", 1)[1]
    assert settings(*GET, from_flag, env={"ROLLBACK_CONFIG": from_env}).registry_url == "https://from-flag-file"
    assert settings(*GET, env={"ROLLBACK_CONFIG": from_env}).registry_url == "https://from-env-file"


def test_ca_bundle_precedence(tmp_path: Path, config) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("flag", "env", "config")}
    for path in files.values():
        path.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    cfg = config(f"ca_bundle: {files['config']}\n")
    env = {"ROLLBACK_CA_BUNDLE": str(files["env"])}
    assert settings(*GET, cfg, f"--ca-bundle={files['flag']}", env=env).tls.ca_bundle == str(files["flag"])
    assert settings(*GET, cfg, env=env).tls.ca_bundle == str(files["env"])
    assert settings(*GET, cfg).tls.ca_bundle == str(files["config"])
    default = settings(*GET).tls
    assert default.ca_bundle is None and default.verify is True
    assert settings(*GET, "--insecure").tls.verify is False


@pytest.mark.parametrize("argv, env, cfg, expected", [
    (("--marathon-auth=dcos",), {"MARATHON_AUTH": "basic"}, "marathon_auth: basic\n", "dcos"),
    ((), {"MARATHON_AUTH": "dcos"}, "marathon_auth: basic\n", "dcos"),
    ((), {}, "marathon_auth: dcos\n", "dcos"),
    ((), {}, "{}\n", "basic"),
])
def test_marathon_auth_precedence(config, argv: tuple[str, ...], env: dict[str, str], cfg: str, expected: str) -> None:
    assert settings(*PLAN, *argv, config(cfg), env=env).marathon_auth == expected


@pytest.mark.parametrize("argv, cfg, expected", [
    (("--keep=3",), "keep: 7\n", 3),
    ((), "keep: 7\n", 7),
    ((), "{}\n", None),
])
def test_keep_flag_beats_config(config, argv: tuple[str, ...], cfg: str, expected: int | None) -> None:
    assert settings(*GET, *argv, config(cfg)).keep == expected


@pytest.mark.parametrize("argv, cfg, attr, expected", [
    (("--platform=linux/arm64",), "platform: linux/arm/v7\n", "platform", "linux/arm64"),
    ((), "platform: linux/arm/v7\n", "platform", "linux/arm/v7"),
    ((), "{}\n", "platform", "linux/amd64"),
    (("--concurrency=4",), "concurrency: 2\n", "concurrency", 4),
    ((), "concurrency: 2\n", "concurrency", 2),
    ((), "{}\n", "concurrency", 16),
    (("--tag-pattern=^(?P<branch>[a-z]+)-(?P<build>[0-9]+)$",), "tag_pattern: '^(?P<branch>.+)$'\n",
     "tag_pattern", "^(?P<branch>[a-z]+)-(?P<build>[0-9]+)$"),
    ((), "tag_pattern: '^(?P<branch>.+)$'\n", "tag_pattern", "^(?P<branch>.+)$"),
    ((), "{}\n", "tag_pattern", r"^(?P<build>\d+)-(?P<branch>.+)$"),
])
def test_flag_beats_config_for_flag_only_settings(config, argv: tuple[str, ...], cfg: str, attr: str,
                                                  expected: Any) -> None:
    got = getattr(settings(*GET, *argv, config(cfg)), attr)
    assert (got.pattern if attr == "tag_pattern" else got) == expected


@pytest.mark.parametrize("env_name, argv, cfg, branch", [
    ("prod", (), "{}\n", "master"),
    ("stage", (), "{}\n", "stage"),
    ("dev", (), "{}\n", "develop"),
    ("qa", (), "{}\n", "qa"),
    ("prod", (), "branches: {prod: main}\n", "main"),
    ("dev", (), "branches: {prod: main}\n", "develop"),          # the mapping extends the defaults
    ("prod", ("--branch=release",), "branches: {prod: main}\n", "release"),
])
def test_branch_of_an_environment(config, env_name: str, argv: tuple[str, ...], cfg: str, branch: str) -> None:
    assert settings("get", "--repo=api", f"--env={env_name}", *argv, config(cfg)).branch == branch


def test_defaults(tmp_path: Path) -> None:
    got = settings(*GET, env={"XDG_CACHE_HOME": str(tmp_path)})
    assert got.command == "get"
    assert got.services == ("api", "web")
    assert got.dump == Path(".")
    assert got.tz == dt.timezone.utc
    assert got.platform == "linux/amd64"
    assert got.cache_dir == tmp_path / "fleetrewind"
    assert got.keep is None
    assert got.registry_url is None
    assert got.registry_credentials is None


def test_no_cache_turns_the_cache_off() -> None:
    assert settings(*GET, "--no-cache", "--cache-dir=/somewhere").cache_dir is None


def test_registry_url_loses_its_trailing_slash() -> None:
    assert settings(*GET, "--registry=https://registry.example.com:5000/").registry_url == "https://registry.example.com:5000"


# -- bad values -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, env, message", [
    ((*GET, "--keep=x"), {}, '--keep must be a positive integer (found: "x")'),
    ((*GET, "--keep=0"), {}, '--keep must be a positive integer (found: "0")'),
    ((*GET, "--keep=-2"), {}, '--keep must be a positive integer (found: "-2")'),
    ((*GET, "--keep=1.5"), {}, '--keep must be a positive integer (found: "1.5")'),
    ((*GET, "--concurrency=0"), {}, '--concurrency must be a positive integer (found: "0")'),
    ((*GET, "--tz=Mars/Olympus"), {}, "unknown time zone 'Mars/Olympus'"),
    (GET, {"ROLLBACK_TZ": "Europe/Pariss"}, "unknown time zone 'Europe/Pariss'"),
    ((*GET, "--registry=registry.example.com"), {}, "--registry must be an http:// or https:// URL (found: 'registry.example.com')"),
    (GET, {"DOCKER_REGISTRY": "ftp://registry.example.com"}, "(found: 'ftp://registry.example.com')"),
    ((*GET, "--platform=amd64"), {}, '--platform must look like linux/amd64 (found: "amd64")'),
    (("get", "--repo=api", "--env=Prod"), {}, "--env must be lower-case letters, digits and inner dashes, at most 63 characters, like \"prod\" (found: 'Prod')"),
    (("get", "--repo=api,API", "--env=prod"), {}, "'API' is not a valid repository name"),
    ((*GET, "--tag-pattern=^(?P<build>[0-9]+)$"), {}, "needs a named group (?P<branch>...)"),
    ((*GET, "--tag-pattern=(?P<branch>"), {}, "'(?P<branch>' is not a valid regular expression"),
    ((*GET, "--ca-bundle=/no/such/ca.pem"), {}, "--ca-bundle /no/such/ca.pem is not a readable file"),
    ((*GET, "--quiet", "--verbose"), {}, "--quiet and --verbose cannot be used together"),
    (("plan", "--date=19-11-2026", "--env=prod"), {}, "--date must look like 2026-11-19 (found: '19-11-2026')"),
    (("plan", "--date=2026-02-30", "--env=prod"), {}, "--date '2026-02-30' is not a calendar date"),
    (("plan", "--date=2026-11-19\n", "--env=prod"), {}, "--date must look like 2026-11-19 (found: '2026-11-19\\n')"),
    (("plan", "--date=２０２６-11-19", "--env=prod"), {}, "--date must look like 2026-11-19 (found: '２０２６-11-19')"),
    ((*PLAN, "--marathon-auth=oauth"), {}, '--marathon-auth must be basic or dcos (found: "oauth")'),
    (("run", "--date=2026-11-19", "--env=prod", "--timeout=soon"), {}, '--timeout must be a positive number of seconds (found: "soon")'),
    (("run", "--date=2026-11-19", "--env=prod", "--on-failure=retry"), {}, '--on-failure must be one of stop, continue, revert (found: "retry")'),
    (GET, {"REGISTRY_USER": "ci"}, "set both REGISTRY_USER and REGISTRY_PASSWORD, or neither"),
    (GET, {"REGISTRY_PASSWORD": "pw-only"}, "set both REGISTRY_USER and REGISTRY_PASSWORD, or neither"),
])
def test_bad_values_are_usage_errors_that_show_the_value(argv: tuple[str, ...], env: dict[str, str], message: str) -> None:
    assert message in refused(*argv, env=env)


def test_a_bad_url_never_shows_its_credentials() -> None:
    message = refused(*GET, "--registry=ftp://ci:hunter22@registry.example.com")
    assert "hunter22" not in message
    assert "ftp://<hidden>@registry.example.com" in message


@pytest.mark.parametrize("source", ["flag", "env", "config"])
@pytest.mark.parametrize("flag, var, key", [("--marathon", "MARATHON_URL", "marathon"),
                                           ("--registry", "DOCKER_REGISTRY", "registry")])
def test_a_bad_url_is_blamed_on_where_it_came_from(config, source: str, flag: str, var: str, key: str) -> None:
    bad = "http://ops:pa/ss@h:99999"
    argv = (*PLAN, f"{flag}={bad}") if source == "flag" else \
        (*PLAN, config(f"{key}: '{bad}'")) if source == "config" else PLAN
    message = refused(*argv, env={var: bad} if source == "env" else {})
    where = {"flag": flag, "env": var, "config": f"config key {key}"}[source]
    assert message.startswith(f"{where}: the user or password in the URL holds '/'"), message
    assert "pa/ss" not in message and "<hidden>@h:99999" in message
    fixed_slash = "http://ops:pass@h:99999"
    argv = (*PLAN, f"{flag}={fixed_slash}") if source == "flag" else \
        (*PLAN, config(f"{key}: '{fixed_slash}'", "other.yml")) if source == "config" else PLAN
    message = refused(*argv, env={var: fixed_slash} if source == "env" else {})
    assert message.startswith(f"{where} is not a usable URL (the port must be"), message
    assert "pass" not in message


@pytest.mark.parametrize("argv, message", [
    (("get", "--repo=api", "--env=prod", "--keep=many"), '--keep must be a positive integer (found: "many")'),
    (("get", "--repo=api", "--env=PROD"), "(found: 'PROD')"),
    (("get", "--repo=api", "--env=prod", "--tz=Moon/Base"), "unknown time zone 'Moon/Base'"),
])
def test_bad_values_through_the_cli_exit_2_with_one_line(cli, argv: tuple[str, ...], message: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in result.err
    assert result.out == ""


def test_an_unknown_flag_exits_2(cli) -> None:
    result = cli("get", "--repo=api", "--env=prod", "--colour=blue")
    assert result.code == 2
    assert "error: invalid command line" in result.err


# -- the config file --------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("registy: https://typo.example\n", "unknown key 'registy' (known: "),
    ("keep: '3'\n", "'keep' must be int (releases kept per service), found str: '3'"),
    ("concurrency: true\n", "'concurrency' must be int"),
    ("timeout: '600'\n", "'timeout' must be int or float"),
    ("registry: 5000\n", "'registry' must be str (registry URL), found int: 5000"),
    ("branches: [prod, master]\n", "'branches' must be dict"),
    ("pin_digest: 'yes'\n", "'pin_digest' must be bool"),
    ("- registry\n- marathon\n", "must be a mapping of keys to values (found: list)"),
    ("registry: [unclosed\n", "is not valid YAML at line"),
    ("keep: 0\n", '--keep must be a positive integer (found: "0")'),
    ("timezone: Atlantis/Capital\n", "unknown time zone 'Atlantis/Capital'"),
    ("registry: registry.example.com\n", "config key registry must be an http:// or https:// URL (found: 'registry.example.com')"),
    ("branches: {prod: 1}\n", "config 'branches' must map names to strings"),
])
def test_bad_config_files_are_refused(config, text: str, message: str) -> None:
    flag = config(text)
    error = refused(*GET, flag)
    assert message in error
    if "config file" in error:
        assert flag.split("=", 1)[1] in error


@pytest.mark.parametrize("key", [
    "marathon_password", "registry_password", "pwd", "slack_webhook", "slack_token", "api_secret", "slack_url",
    "MARATHON_PASSWORD", "api_key", "sentry_dsn", "registry_auth_token", "tls_private_key", "db_credential",
])
def test_secret_looking_keys_are_refused(config, key: str) -> None:
    error = refused(*GET, config(f"{key}: hunter22\n"))
    assert f"{key!r} looks like a secret" in error
    assert "never the config file" in error
    assert "hunter22" not in error


def test_missing_config_file(tmp_path: Path) -> None:
    error = refused(*GET, f"--config={tmp_path / 'nope.yml'}")
    assert f"cannot read config file {tmp_path / 'nope.yml'}" in error


def test_an_empty_config_file_means_defaults(config) -> None:
    assert settings(*GET, config("")).registry_url is None


def test_a_full_config_file_is_accepted(config) -> None:
    got = settings(*GET, config(
        "registry: https://registry.example.com\n"
        "timezone: Europe/Paris\n"
        "keep: 30\n"
        "platform: linux/arm64\n"
        "branches: {prod: main}\n"
        "apps: {api: /ds/prod/shop/api}\n"
        "waves: [[api], [web]]\n"
        "pin_digest: true\n"
        "timeout: 120.5\n"
    ))
    assert got.registry_url == "https://registry.example.com"
    assert got.tz == ZoneInfo("Europe/Paris")
    assert got.keep == 30
    assert got.branch == "main"
    assert got.app_ids == {"api": "/ds/prod/shop/api"}
    assert got.waves == (("api",), ("web",))
    assert got.pin_digest is True
    assert got.timeout == 120.5


# -- Marathon password and registry credentials ----------------------------------------------

def _password(s: Door) -> str | None:
    return s.marathon_password.reveal() if s.marathon_password else None


def test_pwd_flag_beats_environment() -> None:
    assert _password(settings(*PLAN, "--pwd=from-flag", env={"MARATHON_PASSWORD": "from-env"})) == "from-flag"


def test_marathon_password_from_environment() -> None:
    assert _password(settings(*PLAN, env={"MARATHON_PASSWORD": "from-env"})) == "from-env"
    assert _password(settings(*PLAN)) is None


def test_pwd_file_beats_environment_and_loses_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pwd"
    secret.write_text("from-file\n", encoding="utf-8")
    got = settings(*PLAN, f"--pwd-file={secret}", env={"MARATHON_PASSWORD": "from-env"})
    assert _password(got) == "from-file"


def test_pwd_flag_beats_pwd_file(tmp_path: Path) -> None:
    secret = tmp_path / "pwd"
    secret.write_text("from-file\n", encoding="utf-8")
    assert _password(settings(*PLAN, "--pwd=from-flag", f"--pwd-file={secret}")) == "from-flag"


def test_unreadable_pwd_file(tmp_path: Path) -> None:
    error = refused(*PLAN, f"--pwd-file={tmp_path / 'missing'}")
    assert f"cannot read --pwd-file {tmp_path / 'missing'}" in error


def test_secrets_never_show_in_settings_views() -> None:
    got = settings(*PLAN, "--pwd=hunter22", env={"REGISTRY_USER": "ci", "REGISTRY_PASSWORD": "reg-pw-42"})
    assert got.registry_credentials is not None
    assert got.registry_credentials.user == "ci"
    assert got.registry_credentials.password.reveal() == "reg-pw-42"
    made = from_args(_args(*PLAN, "--pwd=hunter22"), {"REGISTRY_USER": "ci", "REGISTRY_PASSWORD": "reg-pw-42"})
    assert isinstance(made, PlanSettings) and made.marathon.password is not None
    for view in (repr(made), str(made), dumps_settings(made)):
        assert "hunter22" not in view
        assert "reg-pw-42" not in view


@pytest.mark.parametrize("argv", [
    ("plan", "--date=19/11/2026", "--env=prod", "--pwd=hunter22"),        # a settings error
    ("plan", "--date=2026-11-19", "--env=prod", "--pwd=hunter22", "--bogus"),   # a docopt error
])
def test_cli_errors_never_echo_the_password(cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert "hunter22" not in result.err + result.out


# -- each command's own settings ----------------------------------------------------------------

def test_plan_is_asked_the_resolved_values(config) -> None:
    got = from_args(_args(*PLAN, "--rule=ran", "--strict", "--only=api",
                          config("pinned: [web]\nwaves: [[api]]\npin_digest: true\n")), {})
    assert isinstance(got, PlanSettings)
    asks = got.asks
    assert (asks.env, asks.date, asks.rule, asks.strict, asks.pin_digest) == ("prod", "2026-11-19", "ran", True, True)
    assert asks.scope.only == ("api",) and dict(asks.scope.pinned) == {"web": ""}
    assert asks.waves == (("api",),)
    # no --at: the moment is the end of the date, in the zone the index was made in
    assert asks.at is None
    paris = ZoneInfo("Europe/Paris")
    request = PlanRequest(env=asks.env, date=asks.date or "", moment=asks.at)
    assert request.at(paris) == dt.datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=paris)


def test_run_to_last_good_has_no_date_but_keeps_its_scope_and_policy() -> None:
    got = from_args(_args("run", "--to=last-good", "--env=prod", "--exclude=web", "--on-failure=revert"), {})
    assert isinstance(got, RunSettings)
    assert got.to_last_good and got.asks.date is None and got.asks.scope.exclude == ("web",)
    assert got.rollout.policy == "revert"
    dated = from_args(_args("run", "--date=2026-11-19", "--env=prod", "--with-config"), {})
    assert isinstance(dated, RunSettings) and not dated.to_last_good and dated.asks.date == "2026-11-19"
    assert dated.asks.rule == "ran" and dated.asks.with_config is True and dated.rollout.policy == "stop"


@pytest.mark.parametrize("argv, env, cfg, expected", [
    (("--marathon=https://flag.example",), {"MARATHON_URL": "https://env.example"}, "marathon: https://cfg.example\n",
     "https://flag.example"),
    ((), {"MARATHON_URL": "https://env.example"}, "marathon: https://cfg.example\n", "https://env.example"),
    ((), {}, "marathon: https://cfg.example\n", "https://cfg.example"),
])
def test_the_marathon_group_a_command_hands_the_factory_keeps_the_precedence(
        config, argv: tuple[str, ...], env: dict[str, str], cfg: str, expected: str) -> None:
    got = from_args(_args(*PLAN, *argv, config(cfg + "parallel: 3\napps: {api: /x/prod/api}\n")), env)
    assert isinstance(got, PlanSettings)
    assert (got.marathon.url, got.marathon.parallel, dict(got.marathon.apps), got.marathon.env) == \
        (expected, 3, {"api": "/x/prod/api"}, "prod")
