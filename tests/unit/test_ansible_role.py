"""Contract checks of the fleet_rollback Ansible role, read as data (no playbook is run here).

The role must stay thin glue around the command line: every variable defined and documented,
the tool run with ``argv`` lists that docopt accepts, secrets only in a 0600 file that the
launcher (files/with_secrets.py) puts in the tool's environment, written by a ``no_log`` task and
removed afterwards, and the tool's own message shown when it fails. The helpers below are also
used by tests/unit/test_jenkinsfile.py to check the Jenkins -> role -> command line chain.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
import yaml
from docopt import DocoptExit

from fleetrewind.usage import USAGE, Given, parse_command_line

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
ROLE = ANSIBLE / "roles" / "fleet_rollback"
PLAYBOOK = ANSIBLE / "rollback_service.yaml"
INVENTORIES = ANSIBLE / "inventories"
ENVIRONMENTS = ("dev", "stage", "prod")
STEP_TAGS = ("get", "plan", "run", "undo", "deploy", "status", "diff")

# Values the secrets take while rendering: none may ever show up in a command line.
SECRET_ENV = {
    "MARATHON_USER": "ops-user",
    "MARATHON_PASSWORD": "Marathon-Pw-7f3e!",
    "REGISTRY_USER": "ci",
    "REGISTRY_PASSWORD": "Registry-Pw-91c2",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/services/T000/B000/Secret-Hook-Path",
    "BUILD_URL": "https://jenkins.invalid/job/rollback/42/",
    "ROLLBACK_ZK_AUTH": "fleet:Zk-Digest-Pw-55aa",
}
SECRET_VARS = ("fleet_rollback_marathon_password", "fleet_rollback_registry_password", "fleet_rollback_slack_webhook",
               "fleet_rollback_zk_auth")
SECRET_VALUES = ("Marathon-Pw-7f3e!", "Registry-Pw-91c2", "Secret-Hook-Path", "Zk-Digest-Pw-55aa")

# Every optional setting turned on, so that every flag the role can produce is checked.
ALL_OPTIONS: dict[str, Any] = {
    "fleet_rollback_env": "prod",
    "fleet_rollback_services": ["api", "worker", "web"],
    "fleet_rollback_date": "2026-11-19",
    "fleet_rollback_only": ["api", "web"],
    "fleet_rollback_exclude": ["web"],
    "fleet_rollback_rule": "ran",
    "fleet_rollback_strict": True,
    "fleet_rollback_diff_from": "2026-11-17",
    "fleet_rollback_diff_to": "2026-11-19",
    "fleet_rollback_registry": "https://registry.example.com",
    "fleet_rollback_marathon": "https://marathon.example.com",
    "fleet_rollback_config": "/etc/fleetrewind/prod.yaml",
    "fleet_rollback_ca_bundle": "/etc/ssl/internal-ca.pem",
    "fleet_rollback_insecure": True,
    "fleet_rollback_keep": 20,
    "fleet_rollback_timeout": 900,
    "fleet_rollback_on_failure": "revert",
    "fleet_rollback_force": True,
    "fleet_rollback_dry_run": True,
    "fleet_rollback_actor": "Jane Doe",
    "fleet_rollback_extra_args": ["--tz=Europe/Paris", "--parallel=4"],
    "fleet_rollback_images": ["api=516-master", "web=309-master"],
    "fleet_rollback_health_urls": ["api=https://api.example.com/health"],
    "fleet_rollback_auto_rollback": False,
    "fleet_rollback_snapshot": "/home/deploy/fleetrewind/dump/prod/snapshot-20261120T010000Z.json",
    "fleet_rollback_state": "zk://zk1:2181,zk2:2181/fleetrewind",
    "fleet_rollback_with_config": True,
}
FAKE_FACTS = {"python": {"executable": "/usr/bin/python3"}, "user_dir": "/home/deploy"}
TOOL = "/home/deploy/fleetrewind/venv/bin/rollback"
SECRETS_DIR = "/home/deploy/fleetrewind/.secrets-x1y2"
LAUNCHER = ["/home/deploy/fleetrewind/venv/bin/python", "/home/deploy/fleetrewind/with_secrets.py",
            f"{SECRETS_DIR}/secrets.json"]


def load_yaml(path: Path) -> Any:
    """The file's data, parsed once per run (with libyaml when present): callers get their own copy."""
    return copy.deepcopy(_parsed_yaml(path))


@functools.cache
def _parsed_yaml(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)


def defaults() -> dict[str, Any]:
    return load_yaml(ROLE / "defaults" / "main.yml")


def internal_vars() -> dict[str, Any]:
    return load_yaml(ROLE / "vars" / "main.yml")


def argument_specs() -> dict[str, Any]:
    return load_yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


@dataclass(frozen=True)
class Task:
    data: Mapping[str, Any]
    tags: frozenset[str]
    file: str

    @property
    def name(self) -> str:
        return str(self.data.get("name", "<unnamed>"))

    @property
    def module(self) -> str:
        keys = set(self.data) - TASK_KEYWORDS
        assert len(keys) == 1, f"{self.file}: task {self.name!r} has no single module ({sorted(keys)})"
        return keys.pop()


TASK_KEYWORDS = {
    "name", "tags", "when", "register", "no_log", "environment", "changed_when", "failed_when", "loop",
    "loop_control", "vars", "become", "delegate_to", "run_once", "notify", "block", "rescue", "always",
    "ignore_errors", "check_mode", "args", "until", "retries", "delay", "listen",
}


def _walk(items: list[Mapping[str, Any]], tags: frozenset[str], file: str) -> Iterator[Task]:
    for item in items or []:
        own = tags | frozenset(item.get("tags", []) or [])
        if "block" in item:
            for section in ("block", "rescue", "always"):
                yield from _walk(item.get(section, []), own, file)
            continue
        imported = item.get("ansible.builtin.import_tasks")
        if imported:
            yield from _walk(load_yaml(ROLE / "tasks" / imported), own, imported)
            continue
        yield Task(item, own, file)


def role_tasks() -> list[Task]:
    """Every task of the role, imports followed, with the tags it inherits."""
    return list(_walk(load_yaml(ROLE / "tasks" / "main.yml"), frozenset(), "main.yml"))


def tool_tasks() -> list[Task]:
    return [t for t in role_tasks() if t.module == "ansible.builtin.command"]


@functools.cache
def _init_plugin_loader() -> None:
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader()


def _trusted(value: Any) -> Any:
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


class Renderer:
    """Ansible's own templating, with the role's defaults and vars, fake facts and overrides."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> None:
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        _init_plugin_loader()
        self.environ = dict(SECRET_ENV if environ is None else environ)
        variables: dict[str, Any] = {}
        variables.update(_trusted(defaults()))
        variables.update(_trusted(internal_vars()))
        variables.update(overrides or {})
        variables.update({"ansible_facts": FAKE_FACTS, "role_path": str(ROLE), "ansible_playbook_python": "/usr/bin/python3",
                          "__fleet_rollback_secrets_dir": {"path": SECRETS_DIR}})
        self.templar = Templar(loader=DataLoader(), variables=variables)

    def render(self, value: Any) -> Any:
        saved = {k: os.environ.get(k) for k in SECRET_ENV}
        os.environ.update(self.environ)
        for name in set(SECRET_ENV) - set(self.environ):
            os.environ.pop(name, None)
        try:
            return self.templar.template(_trusted(value))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def rendered_commands(overrides: Mapping[str, Any], tags: set[str] | None = None) -> dict[str, list[str]]:
    """{task name: argv} of the tool tasks that run under ``tags`` (all when None)."""
    renderer = Renderer(overrides)
    commands = {}
    for task in tool_tasks():
        if tags is not None and not (task.tags & (tags | {"always"})):
            continue
        argv = [str(a) for a in renderer.render(task.data["ansible.builtin.command"]["argv"])]
        commands[task.name] = tool_argv(argv)
    return commands


def tool_argv(argv: list[str]) -> list[str]:
    """The tool's own command line, without the launcher in front of it."""
    if argv[:len(LAUNCHER)] == LAUNCHER:
        argv = argv[len(LAUNCHER):]
    assert argv[0] == TOOL, argv
    return argv


USAGE_OPTIONS = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", USAGE))


def docopt_accepts(argv: list[str]) -> Mapping[str, Given]:
    """The tool's own parser, on the arguments after the program name; raises on a bad line.

    docopt also takes unique prefixes of long options: every option must be spelled in full.
    """
    for arg in argv[1:]:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in USAGE_OPTIONS, f"{arg!r} is not spelled as in the usage text"
    return parse_command_line(argv[1:]).given


def referenced_names(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w])(fleet_rollback_[a-z0-9_]+)", text))


def role_texts() -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROLE / "tasks").glob("*.yml"))]
    parts.append((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
    return "\n".join(parts)


# --- variables -------------------------------------------------------------------------------------


def test_every_variable_the_tasks_use_is_defined_and_documented() -> None:
    used = referenced_names(role_texts()) | referenced_names((ROLE / "defaults" / "main.yml").read_text())
    assert used - set(defaults()) == set(), "used but not in defaults/main.yml"
    assert used - set(argument_specs()) == set(), "used but not in meta/argument_specs.yml"


def test_defaults_and_argument_specs_list_the_same_variables_with_the_same_defaults() -> None:
    specs = argument_specs()
    assert set(defaults()) == set(specs)
    for name, value in defaults().items():
        spec = specs[name]
        assert spec.get("default") == value, name
        assert spec.get("description"), f"{name} is not described"
        assert name.startswith("fleet_rollback_"), name


def test_internal_variables_are_defined_where_they_are_used() -> None:
    registered = {t.data["register"] for t in role_tasks() if "register" in t.data}
    used = set(re.findall(r"(__fleet_rollback_[a-z0-9_]+)", role_texts()))
    assert used - set(internal_vars()) - registered == set()


def test_secret_variables_are_marked_no_log_in_the_argument_specs() -> None:
    specs = argument_specs()
    for name in SECRET_VARS:
        assert specs[name].get("no_log") is True, name


def test_the_role_tool_is_the_console_script_the_package_installs() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    tool = Renderer().render(internal_vars()["__fleet_rollback_tool"])
    assert Path(tool).name in scripts
    assert tool == TOOL


# --- tasks -----------------------------------------------------------------------------------------


def test_modules_are_fully_qualified_and_no_shell_is_used() -> None:
    for task in role_tasks():
        assert task.module.startswith("ansible.builtin."), f"{task.file}: {task.name}: {task.module}"
        assert task.module.split(".")[-1] not in {"shell", "raw", "script", "expect"}, task.name


def test_the_tool_is_run_with_argv_lists_only() -> None:
    tasks = tool_tasks()
    assert len(tasks) >= 6
    renderer = Renderer(ALL_OPTIONS)
    for task in tasks:
        args = task.data["ansible.builtin.command"]
        assert isinstance(args, dict) and set(args) == {"argv"}, f"{task.name}: use argv, not a command string"
        argv = renderer.render(args["argv"])
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), task.name


def test_secrets_are_written_by_a_no_log_task_and_never_reach_a_command_line() -> None:
    renderer = Renderer(ALL_OPTIONS)
    writers = []
    for task in role_tasks():
        text = yaml.safe_dump(dict(task.data))
        assert "environment" not in task.data, f"{task.name}: -vvv prints `environment:` values"
        if "__fleet_rollback_secret_env" in text or any(s in text for s in SECRET_VARS):
            writers.append(task)
            assert task.data.get("no_log") is True, f"{task.name} carries secrets without no_log: true"
        if task.module == "ansible.builtin.command":
            argv = " ".join(renderer.render(task.data["ansible.builtin.command"]["argv"]))
            for secret in SECRET_VALUES:
                assert secret not in argv, f"{task.name}: a secret is on the command line"
            assert "--pwd" not in argv and "--slack=" not in argv, task.name
    [writer] = writers
    assert writer.module == "ansible.builtin.copy" and writer.data["ansible.builtin.copy"]["mode"] == "0600"
    assert renderer.render(writer.data["ansible.builtin.copy"]["dest"]) == LAUNCHER[2]
    written = json.loads(renderer.render(writer.data["ansible.builtin.copy"]["content"]))
    assert written == SECRET_ENV
    [folder] = [t for t in role_tasks() if t.module == "ansible.builtin.tempfile"]
    assert folder.data["register"] == "__fleet_rollback_secrets_dir" and folder.file == "install.yml"
    [removal] = [t for t in role_tasks() if t.file == "collect.yml" and t.module == "ansible.builtin.file"
                 and "__fleet_rollback_secrets_dir" in str(t.data)]
    assert removal.data["ansible.builtin.file"]["state"] == "absent" and "always" in removal.tags


def test_every_command_that_may_need_a_secret_goes_through_the_launcher() -> None:
    renderer = Renderer(ALL_OPTIONS)
    for task in tool_tasks():
        argv = [str(a) for a in renderer.render(task.data["ansible.builtin.command"]["argv"])]
        if argv[0] == TOOL:
            assert argv[1] == "dates", f"{task.name} runs without its secrets"
        else:
            assert argv[:4] == LAUNCHER + [TOOL], task.name
            assert task.data.get("no_log") is True, task.name


def test_the_launcher_puts_the_file_in_the_environment_and_leaves_empty_values_out(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"MARATHON_PASSWORD": "pw with spaces 'and quotes'", "REGISTRY_USER": ""}))
    probe = "import os; print(repr(os.environ['MARATHON_PASSWORD'])); print(os.environ.get('REGISTRY_USER', 'unset'))"
    env = dict(os.environ, REGISTRY_USER="from-the-host")

    result = subprocess.run([sys.executable, str(ROLE / "files" / "with_secrets.py"), str(secrets), sys.executable,
                             "-c", probe], env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['"pw with spaces \'and quotes\'"', "from-the-host"]


def test_a_failing_tool_fails_the_play_with_its_own_message() -> None:
    tasks = role_tasks()
    for i, task in enumerate(tasks):
        if task.module != "ansible.builtin.command" or task.data.get("changed_when") is None:
            continue
        assert "failed_when" in task.data, task.name
        if task.data.get("register") == "__fleet_rollback_dates_before":
            continue  # a missing rollback.json before the first get is expected
        following = [t.module for t in tasks[i + 1:i + 3]]  # at most a debug of the report in between
        assert following[0] == "ansible.builtin.fail" or following == ["ansible.builtin.debug", "ansible.builtin.fail"], \
            f"{task.name} is not followed by a fail task"
        follower = tasks[i + 1 + following.index("ansible.builtin.fail")]
        assert "__fleet_rollback_error_line" in follower.data["ansible.builtin.fail"]["msg"]
        assert follower.data["when"] == f"{task.data['register']}.rc != 0"
        assert "no_log" not in follower.data


@pytest.mark.parametrize("stderr, line", [
    (["[   0.1s] get: 4 services", "error: --date 2026-11-30 is not offered; nearest dates: 2026-11-20"],
     "--date 2026-11-30 is not offered; nearest dates: 2026-11-20"),
    (["Traceback...", "boom"], "boom"),
    ([], "no message on stderr"),
])
def test_the_error_line_is_the_tools_own_line(stderr: list[str], line: str) -> None:
    renderer = Renderer({"__fleet_rollback_result": {"rc": 2, "stdout": "", "stderr_lines": stderr}})
    assert renderer.render(internal_vars()["__fleet_rollback_error_line"]) == line


@pytest.mark.parametrize("stdout, changed", [
    ('{"state": "SUCCEEDED", "summary": {"changed": 3, "failed": 0}}', True),
    ('{"state": "NOTHING_TO_DO", "summary": {"changed": 0, "failed": 0}}', False),
    ("", False),
])
def test_run_and_deploy_report_changed_from_the_tools_report(stdout: str, changed: bool) -> None:
    renderer = Renderer({"__fleet_rollback_result": {"rc": 0, "stdout": stdout, "stderr_lines": []}})
    assert renderer.render(internal_vars()["__fleet_rollback_report_changed"]) is changed


@pytest.mark.parametrize("stdout, shown", [('{"state": "FAILED"}', True), ("", False), ("error", False)])
def test_the_report_is_shown_when_the_tool_printed_one(stdout: str, shown: bool) -> None:
    renderer = Renderer({"__fleet_rollback_result": {"rc": 1, "stdout": stdout}})
    for task in role_tasks():
        if task.name.startswith("Show the report"):
            assert renderer.render("{{ " + task.data["when"] + " }}") is shown


def test_every_tool_task_says_when_it_changed_something() -> None:
    for task in tool_tasks():
        assert "changed_when" in task.data, task.name


# --- tags ------------------------------------------------------------------------------------------


def test_steps_are_tagged_and_install_runs_under_every_step() -> None:
    tasks = role_tasks()
    by_file: dict[str, set[frozenset[str]]] = {}
    for task in tasks:
        by_file.setdefault(task.file, set()).add(task.tags)
    assert by_file["install.yml"] == {frozenset(STEP_TAGS)}
    for step in STEP_TAGS:
        assert by_file[f"{step}.yml"] == {frozenset({step})}, step
    assert by_file["collect.yml"] == {frozenset({"always"})}


@pytest.mark.parametrize("step", STEP_TAGS)
def test_each_step_runs_its_own_command_and_docopt_accepts_it(step: str) -> None:
    commands = rendered_commands(ALL_OPTIONS, {step}).values()
    assert {argv[1] for argv in commands} == ({"get", "dates"} if step == "get" else {step})
    for argv in commands:
        docopt_accepts(argv)


def test_command_lines_with_the_defaults_and_an_inventory_are_accepted() -> None:
    settings = load_yaml(INVENTORIES / "prod" / "group_vars" / "all.yml")
    settings.update(fleet_rollback_date="2026-11-19", fleet_rollback_images=["api=516-master"],
                    fleet_rollback_snapshot="/home/deploy/fleetrewind/dump/prod/snapshot-20261120T010000Z.json")
    commands = rendered_commands(settings)
    for argv in commands.values():
        args = docopt_accepts(argv)
        assert args["--dump"] == "/home/deploy/fleetrewind/dump/prod"
        assert args["--marathon"] == "https://marathon.prod.example.com"
    run = next(argv for argv in commands.values() if argv[1] == "run")
    assert run[2:] == ["--env=prod", "--timeout=600", "--on-failure=revert", "--json", "--date=2026-11-19",
                       "--dump=/home/deploy/fleetrewind/dump/prod", "--registry=https://registry.example.com",
                       "--marathon=https://marathon.prod.example.com"]


def test_every_flag_maps_to_the_option_it_means() -> None:
    commands = {argv[1]: docopt_accepts(argv) for argv in rendered_commands(ALL_OPTIONS).values()}
    run, deploy, get, plan = commands["run"], commands["deploy"], commands["get"], commands["plan"]
    assert (run["--date"], run["--env"], run["--timeout"], run["--on-failure"]) == ("2026-11-19", "prod", "900", "revert")
    assert run["--force"] and run["--dry-run"] and run["--json"] and run["--insecure"]
    assert (run["--config"], run["--ca-bundle"], run["--actor"]) == (
        "/etc/fleetrewind/prod.yaml", "/etc/ssl/internal-ca.pem", "Jane Doe")
    assert (run["--tz"], run["--parallel"]) == ("Europe/Paris", "4")
    assert deploy["--image"] == ["api=516-master", "web=309-master"]
    assert deploy["--health-url"] == ["api=https://api.example.com/health"]
    assert deploy["--auto-rollback"] == "off"
    assert (get["--repo"], get["--keep"]) == ("api,worker,web", "20")
    for scoped in (run, plan):
        assert (scoped["--only"], scoped["--exclude"]) == ("api,web", "web")
        assert (scoped["--rule"], scoped["--strict"], scoped["--with-config"]) == ("ran", True, True)
    assert plan["--out"] == "/home/deploy/fleetrewind/dump/prod/plan.json"
    assert {args["--state"] for args in commands.values()} == {ALL_OPTIONS["fleet_rollback_state"]}
    undo = commands["undo"]
    assert (undo["--snapshot"], undo["--force"]) == (ALL_OPTIONS["fleet_rollback_snapshot"], True)
    diff, status = commands["diff"], commands["status"]
    assert (diff["--from"], diff["--to"], diff["--env"]) == ("2026-11-17", "2026-11-19", "prod")
    assert status["--env"] == "prod" and not status["--json"]


def test_an_empty_scope_passes_no_flag_and_diff_without_an_end_passes_no_to() -> None:
    settings = load_yaml(INVENTORIES / "prod" / "group_vars" / "all.yml")
    settings.update(fleet_rollback_date="2026-11-19", fleet_rollback_diff_from="2026-11-17")
    commands = {argv[1]: argv for argv in rendered_commands(settings, {"plan", "run", "diff"}).values()}
    for name in ("plan", "run"):
        assert not [a for a in commands[name] if a.startswith(("--only", "--exclude", "--rule", "--strict"))], name
    assert docopt_accepts(commands["diff"])["--to"] is None


def test_a_bad_command_line_would_be_caught() -> None:
    with pytest.raises(DocoptExit):
        docopt_accepts(["rollback", "run", "--env=prod", "--user=x"])  # no --date


# --- playbook and inventories ----------------------------------------------------------------------


def test_the_playbook_runs_the_role_on_the_inventory_group_with_the_facts_it_needs() -> None:
    [play] = load_yaml(PLAYBOOK)
    assert play["hosts"] == "rollback_runner"
    assert play["gather_facts"] is True and "min" in play["gather_subset"]
    assert [r["role"] for r in play["roles"]] == ["fleet_rollback"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_inventories_set_the_interpreter_and_only_known_variables(env: str) -> None:
    hosts = load_yaml(INVENTORIES / env / "hosts.yml")["rollback_runner"]["hosts"]
    assert hosts
    for name, host_vars in hosts.items():
        assert host_vars.get("ansible_python_interpreter"), f"{env}: {name} has no ansible_python_interpreter"
    if env == "dev":
        assert hosts["localhost"]["ansible_connection"] == "local"
    group_vars = load_yaml(INVENTORIES / env / "group_vars" / "all.yml")
    assert group_vars["fleet_rollback_env"] == env
    assert set(group_vars) - set(defaults()) == set()
    assert not referenced_names(yaml.safe_dump(group_vars)) & set(SECRET_VARS), "secrets do not belong in git"


def test_docs_list_every_variable_with_its_default() -> None:
    doc = (ROOT / "docs" / "ansible.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(fleet_rollback_[a-z0-9_]+)` \| ([^|]+) \|", doc, re.M)}
    assert set(rows) == set(defaults())
    for name, value in defaults().items():
        if not (isinstance(value, str) and "{{" in value):
            shown = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
            assert f"`{shown}`" in rows[name] or (value == "" and '`""`' in rows[name]), (name, rows[name])


def _files(*pairs: tuple[str, float]) -> dict[str, Any]:
    return {"files": [{"path": f"/d/{name}", "mtime": mtime, "atime": 9e9} for name, mtime in pairs]}


def test_only_the_artifacts_this_run_wrote_are_fetched() -> None:
    before = _files(("rollback.json", 1.0), ("plan.txt", 1.0), ("report-20261120T010000Z.json", 1.0))
    after = _files(("rollback.json", 1.0), ("plan.txt", 5.5), ("report-20261120T010000Z.json", 1.0),
                   ("report-20261121T030000Z.json", 5.0), ("junit-20261121T030000Z.xml", 5.0))
    renderer = Renderer({"__fleet_rollback_artifacts_before": before, "__fleet_rollback_artifacts_after": after})
    assert renderer.render(internal_vars()["__fleet_rollback_new_artifacts"]) == [
        "/d/junit-20261121T030000Z.xml", "/d/plan.txt", "/d/report-20261121T030000Z.json"]
    failed_early = Renderer({"__fleet_rollback_artifacts_after": after})
    assert failed_early.render(internal_vars()["__fleet_rollback_new_artifacts"]) == []


def test_clean_up_keeps_the_newest_of_each_kind_and_every_fixed_file() -> None:
    stamps = [f"202611{day:02d}T030000Z" for day in range(10, 16)]
    after = _files(("rollback.json", 1.0), ("dates.json", 1.0),
                   *[(f"report-{s}.json", 1.0) for s in stamps], *[(f"snapshot-{s}.json", 1.0) for s in stamps[:2]])
    renderer = Renderer({"fleet_rollback_keep_artifacts": 4, "__fleet_rollback_artifacts_after": after})
    assert sorted(renderer.render(internal_vars()["__fleet_rollback_old_artifacts"])) == [
        "/d/report-20261110T030000Z.json", "/d/report-20261111T030000Z.json"]


def test_run_carries_out_the_plan_file_alone_and_at_replaces_the_date() -> None:
    settings = {**ALL_OPTIONS, "fleet_rollback_plan": "plan.json", "fleet_rollback_at": "2026-11-19T14:05+01:00"}
    commands = {argv[1]: docopt_accepts(argv) for argv in rendered_commands(settings, {"plan", "run"}).values()}
    run, plan = commands["run"], commands["plan"]
    assert run["--plan"] == plan["--out"] == "/home/deploy/fleetrewind/dump/prod/plan.json"
    assert not (run["--date"] or run["--at"] or run["--only"] or run["--rule"] or run["--strict"] or run["--dry-run"])
    assert (run["--on-failure"], run["--force"]) == ("revert", True)
    assert (plan["--at"], plan["--date"]) == ("2026-11-19T14:05+01:00", None)


def test_undo_without_a_snapshot_takes_the_last_changing_run_s_own_undo_line() -> None:
    def report(command: str, undo: str | None) -> dict[str, str]:
        return {"content": __import__("base64").b64encode(json.dumps({"command": command, "undo": undo}).encode()).decode()}

    texts = {"results": [report("run", "rollback.py undo --snapshot=/d/snapshot-1.json"),
                         report("run", "rollback.py undo --snapshot=/d/snapshot-2.json --force"),
                         report("undo", "rollback.py undo --snapshot=/d/snapshot-3.json"),
                         report("run", None), {"skipped": True}]}
    renderer = Renderer({**ALL_OPTIONS, "fleet_rollback_snapshot": "", "fleet_rollback_force": False,
                         "fleet_rollback_state": "", "__fleet_rollback_report_texts": texts})
    assert renderer.render(internal_vars()["__fleet_rollback_undo_args"]) == ["--snapshot=/d/snapshot-2.json", "--force"]
    nothing = Renderer({**ALL_OPTIONS, "fleet_rollback_snapshot": "", "fleet_rollback_state": ""})
    assert nothing.render(internal_vars()["__fleet_rollback_undo_args"]) == []


def test_undo_without_a_snapshot_asks_a_shared_store_for_the_last_change() -> None:
    shared = Renderer({**ALL_OPTIONS, "fleet_rollback_snapshot": "", "fleet_rollback_force": False,
                       "fleet_rollback_state": "zk://zk1:2181/fleetrewind"})
    args = shared.render(internal_vars()["__fleet_rollback_undo_args"])
    assert args == ["--last", f"--env={ALL_OPTIONS['fleet_rollback_env']}"]
    argv = ["rollback.py", "undo", *args, "--timeout=5"]
    assert docopt_accepts(argv)["--last"] is True
