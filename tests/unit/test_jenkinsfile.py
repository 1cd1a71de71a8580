"""The Jenkinsfiles' contract, which no linter can check (the linters run in
tests/integration/test_jenkinsfile.py): what they ask of the Ansible role and, through it, of
the command line must exist.

The pipelines never run the tool themselves: they run the role (tags get, plan, run, deploy),
and read what it writes (dump/dates.json, dump/plan.txt, the tool's reports). The chain
Jenkinsfile -> role -> command line is checked by rendering the role's commands with the variables
each Jenkinsfile passes and parsing them with the tool's own docopt usage text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_ansible_role import (
    ENVIRONMENTS, INVENTORIES, argument_specs, defaults, docopt_accepts, internal_vars, load_yaml, rendered_commands,
    role_tasks,
)


ROOT = Path(__file__).resolve().parents[2]


ROLLBACK = ROOT / "jenkins" / "Jenkinsfile"


DEPLOY = ROOT / "jenkins" / "Jenkinsfile.deploy"


JENKINSFILES = (ROLLBACK, DEPLOY)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_only(source: str) -> str:
    """The Groovy source without // comments (so that prose cannot satisfy a check)."""
    return re.sub(r"(?m)^\s*//.*$", "", source)


def role_calls(source: str) -> list[tuple[str, str]]:
    """[(tag, the map literal of variables)] of every runRole('tag', [...]) call."""
    calls = []
    for match in re.finditer(r"runRole\('(\w+)',\s*\[", source):
        depth, i = 1, match.end()
        while depth:
            depth += {"[": 1, "]": -1}.get(source[i], 0)
            i += 1
        calls.append((match.group(1), source[match.end():i - 1]))
    return calls


def role_tags() -> set[str]:
    return {tag for task in role_tasks() for tag in task.tags}


@pytest.mark.parametrize("path, expected", [(ROLLBACK, ["get", "plan", "run"]), (DEPLOY, ["deploy"])],
                         ids=["Jenkinsfile", "Jenkinsfile.deploy"])
def test_the_pipelines_run_the_role_with_tags_it_has(path: Path, expected: list[str]) -> None:
    source = code_only(text(path))
    tags = [tag for tag, _ in role_calls(source)]
    assert tags == expected
    assert set(tags) <= role_tags()
    for literal in re.findall(r"tags:\s*'([^']*)'", source):  # any direct ansiblePlaybook(tags: '...')
        assert set(literal.split(",")) <= role_tags(), literal
    assert "playbook: 'ansible/rollback_service.yaml'" in source
    assert (ROOT / "ansible" / "rollback_service.yaml").is_file()
    assert "inventory: 'ansible/inventories/' + params.ENVIRONMENT" in source


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_every_variable_the_pipelines_pass_is_a_role_variable(path: Path) -> None:
    names = set(re.findall(r"\b(fleet_rollback_[a-z0-9_]+)", code_only(text(path))))
    assert names
    assert names - set(defaults()) == set(), "not in defaults/main.yml"
    assert names - set(argument_specs()) == set(), "not in meta/argument_specs.yml"


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_environments_offered_are_the_inventories(path: Path) -> None:
    match = re.search(r"choice\(name: 'ENVIRONMENT', choices: \[([^\]]*)\]", text(path))
    assert match
    assert re.findall(r"'(\w+)'", match.group(1)) == list(ENVIRONMENTS)
    assert {p.name for p in INVENTORIES.iterdir() if p.is_dir()} == set(ENVIRONMENTS)


def _env_lookups() -> set[str]:
    return set(re.findall(r"lookup\('ansible\.builtin\.env', '(\w+)'\)", str(defaults())))


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_credentials_are_bound_to_the_variables_the_role_reads(path: Path) -> None:
    source = code_only(text(path))
    bound = set(re.findall(r"(?:usernameVariable|passwordVariable|variable): '(\w+)'", source))
    assert bound <= _env_lookups()
    assert {"MARATHON_USER", "MARATHON_PASSWORD", "REGISTRY_USER", "REGISTRY_PASSWORD", "SLACK_WEBHOOK_URL"} <= bound
    for secret in ("MARATHON_PASSWORD", "REGISTRY_PASSWORD", "SLACK_WEBHOOK_URL"):
        # named where it is bound, never read or interpolated by the pipeline itself
        assert len(re.findall(rf"\b{secret}\b", source)) == len(re.findall(rf"Variable: '{secret}'|variable: '{secret}'", source))
    assert "fleet_rollback_marathon_password" not in source  # secrets never travel as extra vars


def test_the_files_the_pipelines_read_are_written_by_the_role_or_the_tool() -> None:
    fixed = set(internal_vars()["__fleet_rollback_fixed_artifacts"])
    stamped = set(internal_vars()["__fleet_rollback_stamped_patterns"])
    for path in JENKINSFILES:
        source = code_only(text(path))
        assert "fleet_rollback_fetch_dir: env.WORKSPACE + '/dump'" in source
        for name in re.findall(r"read(?:JSON|File)\(file: 'dump/([^']+)'\)", source):
            assert name in fixed, name
        for pattern in re.findall(r"dump/([\w*.-]+)", source):
            assert pattern in fixed | stamped, pattern
    written = " ".join(str(t.data) for t in role_tasks())
    assert "/dates.json" in written and "/plan.txt" in written


SAMPLES: dict[str, Any] = {
    "fleet_rollback_date": "2026-11-19",
    "fleet_rollback_actor": "jane.doe",
    "fleet_rollback_only": ["api", "web"],
    "fleet_rollback_exclude": ["web"],
    "fleet_rollback_rule": "ran",
    "fleet_rollback_images": ["api=516-master", "web=registry.example.com/web:309-master"],
    "fleet_rollback_health_urls": ["api=https://api.example.com/health"],
    "fleet_rollback_auto_rollback": False,
    "fleet_rollback_fetch_dir": "/var/lib/jenkins/workspace/Fleet Rollback/dump",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_what_the_pipelines_run_is_a_command_line_the_tool_accepts(path: Path, env: str) -> None:
    source = code_only(text(path))
    for tag, variables in role_calls(source):
        overrides = load_yaml(INVENTORIES / env / "group_vars" / "all.yml")
        for name in re.findall(r"\b(fleet_rollback_[a-z0-9_]+):", variables) + ["fleet_rollback_fetch_dir"]:
            overrides[name] = SAMPLES[name]
        commands = rendered_commands(overrides, {tag})
        assert commands, tag
        for argv in commands.values():
            args = docopt_accepts(argv)
            assert args["--dump"].endswith(f"/dump/{env}")
            if argv[1] in ("get", "plan", "run", "deploy"):
                assert args["--env"] == env
            if argv[1] in ("plan", "run"):
                assert args["--date"] == "2026-11-19"
                if path == ROLLBACK:
                    assert (args["--only"], args["--exclude"]) == ("api,web", "web")
            if argv[1] == "run":
                assert args["--actor"] == "jane.doe"
            if argv[1] == "deploy":
                assert args["--image"] == SAMPLES["fleet_rollback_images"]
                assert args["--auto-rollback"] == "off"


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_any_command_line_a_pipeline_writes_itself_is_accepted(path: Path) -> None:
    """Today both go through the role; a `rollback.py ...` or `rollback ...` line added later is parsed here."""
    for line in re.findall(r"\brollback(?:\.py)? ((?:get|dates|plan|run|undo|deploy)\b[^'\"\n]*)",
                           code_only(text(path))):
        argv = ["rollback"] + re.sub(r"\$\{[^}]*\}|\$\w+", "X", line).split()
        docopt_accepts(argv)


def test_the_rollback_pipeline_asks_twice_validates_the_date_and_locks_the_environment() -> None:
    source = code_only(text(ROLLBACK))
    assert "disableConcurrentBuilds()" in source and re.search(r"options \{[^}]*timeout\(", source)
    assert [m for m in re.findall(r"stage\('(\w+)'\)", source)] == ["Get", "Choose", "Rollback"]
    assert source.count("submitterParameter: 'APPROVER'") == 2
    inputs = [m.start() for m in re.finditer(r"\binput\(", source)]
    assert len(inputs) == 2
    check = source.index(r"==~ /^\d{4}-\d{2}-\d{2}$/")
    plan = source.index("runRole('plan'")
    assert inputs[0] < check < plan < inputs[1] < source.index("runRole('run'")
    assert "offered.contains(date)" in source[:plan]
    assert source.count("timeout(time: 30, unit: 'MINUTES')") == 2
    rollback = source[source.index("stage('Rollback')"):]
    assert rollback.index('lock(resource: "fleet-rollback-${params.ENVIRONMENT}")') < rollback.index("withCredentials")
    assert re.search(r'currentBuild\.description =\s*"\$\{params\.ENVIRONMENT\} -> \$\{env\.ROLLBACK_DATE[^"]*'
                     r'\} by \$\{env\.APPROVER', source)
    _archives_and_publishes(source)


def test_services_and_exclude_are_checked_against_the_index_before_the_plan_and_reach_plan_and_run() -> None:
    source = code_only(text(ROLLBACK))
    for name in ("SERVICES", "EXCLUDE"):
        assert re.search(rf"string\(name: '{name}', defaultValue: '',", source), name
    calls = dict(role_calls(source))
    for tag in ("plan", "run"):
        assert "fleet_rollback_only: names(params.SERVICES)" in calls[tag], tag
        assert "fleet_rollback_exclude: names(params.EXCLUDE)" in calls[tag], tag
        assert "fleet_rollback_rule: params.RULE" in calls[tag], tag  # plan and run use one rule
    assert "choice(name: 'RULE', choices: ['built', 'ran']" in source
    assert "fleet_rollback_only" not in calls["get"]
    check = source.index("!index.services.contains(name)")
    assert source.index("readJSON(file: 'dump/dates.json')") < check
    assert check < source.index("input(") < source.index("runRole('plan'")
    assert source.index("error(", check) < source.index("input(")
    assert "${scopeText()}?" in source  # the approval question shows the scope
    # the role turns the lists into the tool's flags; the tool lists the services the pipeline checks against
    assert "__fleet_rollback_scope_args" in (ROOT / "ansible/roles/fleet_rollback/tasks/plan.yml").read_text()
    assert "__fleet_rollback_scope_args" in (ROOT / "ansible/roles/fleet_rollback/tasks/run.yml").read_text()


def test_dates_json_carries_the_services_the_pipeline_checks_against(tmp_path: Path) -> None:
    import io
    import json

    from fleetrewind.cli import main

    (tmp_path / "rollback.json").write_text(json.dumps({
        "format": 2, "env": "prod", "branch": "master", "registry": "https://r", "generated_at": "x",
        "all": ["api", "web"], "rollbacks": {}}))
    out = io.StringIO()
    assert main(["dates", f"--dump={tmp_path}", "--json"], environ={}, stdout=out, stderr=io.StringIO()) == 0
    assert json.loads(out.getvalue())["services"] == ["api", "web"]
    assert "index.services" in code_only(text(ROLLBACK))


def test_the_deploy_pipeline_locks_the_environment_and_shows_the_final_state() -> None:
    source = code_only(text(DEPLOY))
    assert "disableConcurrentBuilds()" in source
    for name in ("IMAGES", "HEALTH_URLS", "AUTO_ROLLBACK"):
        assert f"name: '{name}'" in source and f"params.{name}" in source
    assert source.index('lock(resource: "fleet-rollback-${params.ENVIRONMENT}")') < source.index("runRole('deploy'")
    assert "readJSON(file: reports[-1]).state" in source
    _archives_and_publishes(source)


def _archives_and_publishes(source: str) -> None:
    post = source[source.index("post {"):]
    assert "always {" in post
    assert re.search(r"archiveArtifacts\(\s*artifacts: 'dump/report-\*\.json, dump/junit-\*\.xml", post)
    assert "allowEmptyArchive: true" in post
    assert "junit(allowEmptyResults: true, testResults: 'dump/junit-*.xml')" in post
    assert "currentBuild.description" in post


def test_docs_name_every_credential_id_the_pipelines_use() -> None:
    doc = text(ROOT / "docs" / "jenkins.md")
    for path in JENKINSFILES:
        for credential in re.findall(r"credentialsId: [\"']([^\"']+)[\"']", text(path)):
            for env in ENVIRONMENTS:
                assert f"`{credential.replace('${params.ENVIRONMENT}', env)}`" in doc, credential
