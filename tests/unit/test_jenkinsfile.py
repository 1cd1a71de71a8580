"""The Jenkinsfiles' contract, which no linter can check (the linters run in
tests/integration/test_jenkinsfile.py): the stages they run exist in jenkins/steps.sh, the parameters
they declare are read there, the approval waits on no agent, the lock wraps plan to run.

The pipelines hold no logic: each stage runs `jenkins/steps.sh <stage>`, whose behaviour is tested
against the registry and the simulator in tests/integration/test_jenkins_steps.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.test_ansible_role import ENVIRONMENTS, INVENTORIES

ROOT = Path(__file__).resolve().parents[2]
ROLLBACK = ROOT / "jenkins" / "Jenkinsfile"
DEPLOY = ROOT / "jenkins" / "Jenkinsfile.deploy"
JENKINSFILES = (ROLLBACK, DEPLOY)
STEPS = ROOT / "jenkins" / "steps.sh"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_only(source: str) -> str:
    """The Groovy source without // comments (so that prose cannot satisfy a check)."""
    return re.sub(r"(?m)^\s*//.*$", "", source)


# --- contract: Jenkinsfile -> jenkins/steps.sh -> the tool --------------------------------------


def stages_run(source: str) -> list[str]:
    return re.findall(r"runStage\('(\w+)'\)", source)


def steps_stages() -> set[str]:
    body = text(STEPS).split('case "$stage" in', 1)[1]
    return set(re.findall(r"^    ([a-z]+)\)", body, re.M))


def block(source: str, start: str) -> str:
    """The text of the { } block that follows ``start``."""
    i = source.index("{", source.index(start))
    depth, j = 1, i + 1
    while depth:
        depth += {"{": 1, "}": -1}.get(source[j], 0)
        j += 1
    return source[i:j]


@pytest.mark.parametrize("path, expected", [(ROLLBACK, ["get", "plan", "run", "undo", "status", "diff"]),
                                            (DEPLOY, ["deploy"])], ids=["Jenkinsfile", "Jenkinsfile.deploy"])
def test_every_stage_the_pipelines_run_is_a_stage_of_steps_sh(path: Path, expected: list[str]) -> None:
    source = code_only(text(path))
    assert stages_run(source) == expected
    assert set(expected) <= steps_stages()
    assert 'sh(script: "jenkins/steps.sh ${stage}", returnStatus: true)' in source
    assert "ansiblePlaybook" not in source and "rollback.py" not in source  # no command line in Groovy


def test_the_parameters_are_the_design_s_and_steps_sh_reads_each_one() -> None:
    source = code_only(text(ROLLBACK))
    assert "choice(name: 'ACTION', choices: ['rollback', 'undo', 'status', 'diff']" in source
    assert "choice(name: 'RULE', choices: ['built', 'ran', 'good']" in source
    assert "choice(name: 'ON_FAILURE', choices: ['', 'stop', 'continue', 'revert']" in source
    declared = re.findall(r"(?:choice|string|booleanParam|text)\(name: '(\w+)'", source)
    assert {"ENVIRONMENT", "ACTION", "SERVICES", "EXCLUDE", "RULE", "AT", "STRICT", "WITH_CONFIG", "ON_FAILURE",
            "STATE", "SNAPSHOT"} <= set(declared)
    steps = text(STEPS)
    for name in set(declared) - {"ACTION"}:  # ACTION picks the stages; every other one is the script's
        assert "${" + name in steps, name  # Jenkins exports every parameter to the shell step
    for name in re.findall(r"(?:choice|string|booleanParam|text)\(name: '(\w+)'", code_only(text(DEPLOY))):
        assert "${" + name in steps, name


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_no_executor_is_held_at_the_top_and_each_stage_that_works_has_an_agent(path: Path) -> None:
    source = code_only(text(path))
    pipeline = source[source.index("pipeline {"):]
    assert re.match(r"pipeline \{\s*agent none\b", pipeline)
    for name in re.findall(r"stage\('(\w+)'\)", pipeline):
        body = block(pipeline, f"stage('{name}')")
        if "runStage(" in body and "stages {" not in body:
            assert "agent any" in body, name


def test_the_approval_shows_the_saved_plan_waits_on_no_agent_and_the_lock_wraps_plan_to_run() -> None:
    source = code_only(text(ROLLBACK))
    rollback = block(source, "stage('Rollback')")
    assert 'lock(resource: "fleet-rollback-${params.ENVIRONMENT}")' in rollback.split("stages {", 1)[0]
    assert re.findall(r"stage\('(\w+)'\)", rollback) == ["Plan", "Approve", "Run"]
    plan, approve, run = (block(rollback, f"stage('{n}')") for n in ("Plan", "Approve", "Run"))
    assert "runStage('plan')" in plan and "planText = readFile(file: 'dump/plan.txt')" in plan
    assert "stash(name: 'plan', includes: 'dump/plan.json, dump/rollback.json')" in plan
    assert "dump/plan.json" in plan.split("keepFiles(", 1)[1]  # the approved plan is archived
    assert "agent" not in approve and "${planText}" in approve  # the question is the plan itself
    assert "timeout(time: 30, unit: 'MINUTES')" in approve and "submitterParameter: 'APPROVER'" in approve
    assert "unstash('plan')" in run and "runStage('run')" in run
    choose = block(source, "stage('Choose')")
    assert "agent" not in choose and "input(" in choose and "timeout(" in choose
    undo = block(source, "stage('Undo')")
    assert 'lock(resource: "fleet-rollback-${params.ENVIRONMENT}")' in undo and "runStage('undo')" in undo


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_a_failure_s_reason_is_the_build_description_and_the_stage_error(path: Path) -> None:
    source = code_only(text(path))
    helper = block(source, "void runStage(String stage)")
    assert "readFile(file: 'dump/reason.txt')" in helper
    assert re.search(r"currentBuild\.description = .*\$\{reason\}", helper) and "error(reason)" in helper
    assert "reason.txt" in text(STEPS)


def test_get_binds_marathon_s_credentials_and_runs_with_the_registry_s() -> None:
    get = block(code_only(text(ROLLBACK)), "stage('Get')")
    assert "withCredentials(registry() + marathon())" in get


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_the_environments_offered_are_the_inventories(path: Path) -> None:
    match = re.search(r"choice\(name: 'ENVIRONMENT', choices: \[([^\]]*)\]", text(path))
    assert match
    assert re.findall(r"'(\w+)'", match.group(1)) == list(ENVIRONMENTS)
    assert {p.name for p in INVENTORIES.iterdir() if p.is_dir()} == set(ENVIRONMENTS)


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.name)
def test_credentials_are_bound_to_variables_the_tool_reads_and_never_read_by_groovy(path: Path) -> None:
    source = code_only(text(path))
    bound = set(re.findall(r"(?:usernameVariable|passwordVariable|variable): '(\w+)'", source))
    tool = " ".join(p.read_text() for p in (ROOT / "fleetrewind").rglob("*.py"))
    assert bound and all(f'"{name}"' in tool for name in bound)
    for secret in ("MARATHON_PASSWORD", "REGISTRY_PASSWORD", "SLACK_WEBHOOK_URL"):
        assert len(re.findall(rf"\b{secret}\b", source)) == len(re.findall(rf"Variable: '{secret}'|variable: '{secret}'", source))
        assert secret not in text(STEPS).split("set -euo pipefail", 1)[1]  # the script never touches them


def test_docs_name_every_credential_id_the_pipelines_use() -> None:
    doc = text(ROOT / "docs" / "jenkins.md")
    for path in JENKINSFILES:
        for credential in re.findall(r"credentialsId: [\"']([^\"']+)[\"']", text(path)):
            for env in ENVIRONMENTS:
                assert f"`{credential.replace('${params.ENVIRONMENT}', env)}`" in doc, credential


def test_a_stage_an_action_skips_takes_no_agent_and_no_lock() -> None:
    source = code_only(text(ROLLBACK))
    for name in re.findall(r"stage\('(\w+)'\)", source):
        body = block(source, f"stage('{name}')")
        if "when {" not in body:
            continue
        when = block(body, "when")
        if "agent any" in body.split("steps {", 1)[0] and "stages {" not in body:
            assert "beforeAgent true" in when, name
        if "lock(" in body.split("stages {", 1)[0].split("steps {", 1)[0]:
            assert "beforeOptions true" in when, name
