#!/usr/bin/env bash
# The shell steps of the Jenkins pipelines, one stage per call:
#
#   jenkins/steps.sh get|plan|run|undo|status|diff|deploy
#
# The Jenkinsfiles only wire parameters, credentials, the approval, the lock and archiving; what a
# stage does is here, so it is tested without Jenkins (tests/integration/test_jenkins_steps.py). Everything
# comes from the environment: the build parameters (Jenkins exports them), the credentials bound
# by withCredentials (the tool reads them itself; this script never prints or passes them), and
# the environment's settings in ansible/inventories/<ENVIRONMENT>/group_vars/all.yml, the same file
# the Ansible role reads. Run from the checkout's root. See docs/jenkins.md.
#
# Parameters: ENVIRONMENT, ACTION, SERVICES, EXCLUDE, RULE, AT, STRICT, WITH_CONFIG, ON_FAILURE,
# STATE, SNAPSHOT; DATE (the date chosen at the approval); APPROVER (who approved).
# Files, in dump/ of the workspace: rollback.json, rollback.html, dates.json (get); plan.json, plan.txt
# (plan); report-*.json, junit-*.xml, snapshot-*.json (run, undo); status.txt, diff.txt; reason.txt
# (the last line of a failure: the Jenkinsfile makes it the build's description and error).
set -euo pipefail

stage="${1:?usage: jenkins/steps.sh get|plan|run|undo|status|diff|deploy}"
: "${ENVIRONMENT:?set ENVIRONMENT (dev, stage, prod)}"
case "$ENVIRONMENT" in
    *[!a-z0-9-]* | "") echo "error: ENVIRONMENT must be a Marathon path segment (found: $ENVIRONMENT)" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
dump="${WORKSPACE:-$PWD}/dump"
# Kept on the agent between builds (the workspace's dump/ is emptied by every get): the ledger, and
# each run's snapshot for an undo that names none. With STATE=zk://... the store holds them instead,
# and an undo that names no snapshot is `rollback.py undo --last` (the last change, from any agent).
home="${ROLLBACK_HOME:-$HOME/fleetrewind}/$ENVIRONMENT"
inventory="${ROLLBACK_INVENTORY:-$root/ansible/inventories}/$ENVIRONMENT/group_vars/all.yml"

# The tool: a virtualenv of the checkout's pinned requirements, made once per agent (or the Python
# named by ROLLBACK_PYTHON, which must have them).
python_for_tool() {
    if [ -n "${ROLLBACK_PYTHON:-}" ]; then
        echo "$ROLLBACK_PYTHON"
        return
    fi
    venv="${ROLLBACK_HOME:-$HOME/fleetrewind}/venv"
    stamp="$venv/requirements.sha256"
    want="$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt" >&2
        echo "$want" >"$stamp"
    fi
    echo "$venv/bin/python"
}

python="$(python_for_tool)"

# One value of the inventory (a scalar, or a list joined with commas); empty when it is not set.
setting() {
    "$python" - "$inventory" "$1" <<'EOF'
import sys, yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    value = (yaml.safe_load(handle) or {}).get(sys.argv[2], "")
print(",".join(map(str, value)) if isinstance(value, list) else value)
EOF
}

# Endpoints and settings: the environment (or the tool's config) first, then the inventory.
[ -n "${DOCKER_REGISTRY:-}" ] || DOCKER_REGISTRY="$(setting fleet_rollback_registry)"
[ -n "${MARATHON_URL:-}" ] || MARATHON_URL="$(setting fleet_rollback_marathon)"
export DOCKER_REGISTRY MARATHON_URL
mkdir -p "$dump" "$home/snapshots"
ROLLBACK_LEDGER="${ROLLBACK_LEDGER:-$home/ledger.jsonl}"
BUILD_USER="${APPROVER:-${BUILD_USER:-jenkins}}"
export ROLLBACK_LEDGER BUILD_USER

is_on() { case "${1:-false}" in true | TRUE | True | yes | 1 | on) return 0 ;; *) return 1 ;; esac; }

# Run the tool: its stdout stays this script's; its stderr goes to the console as it comes and to
# dump/<stage>.log. On failure its last line (the tool's reason) goes to dump/reason.txt, and the
# script exits with the tool's code.
run_tool() {
    local log="$dump/$stage.log" code
    rm -f "$dump/reason.txt"
    set +e
    # STATE: the store every agent shares (--state); empty keeps the file store of this agent
    { "$python" "$root/rollback.py" "$@" ${STATE:+"--state=$STATE"} 2>&1 1>&3 3>&- | tee "$log" >&2; } 3>&1
    code=${PIPESTATUS[0]}
    set -e
    if [ "$code" != 0 ]; then
        reason="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)"
        echo "${reason:-error: rollback.py $1 exited $code without a message}" >"$dump/reason.txt"
        exit "$code"
    fi
}

# After a run or an undo: keep its snapshot on the agent, and its undo line (the report's "undo":
# rollback.py undo --snapshot=<file> [--force]) for an undo that names no snapshot.
keep_undo() {
    local report
    report="$(ls -1t "$dump"/report-*.json 2>/dev/null | head -n 1 || true)"  # the newest (one more in a second is -2)
    [ -n "$report" ] || return 0
    "$python" - "$report" "$home" <<'EOF'
import json, pathlib, shutil, sys
report, home = json.loads(pathlib.Path(sys.argv[1]).read_text()), pathlib.Path(sys.argv[2])
if report.get("undo") and report.get("snapshot"):
    kept = home / "snapshots" / pathlib.Path(report["snapshot"]).name
    shutil.copy2(report["snapshot"], kept)
    (home / "last-undo").write_text(report["undo"].replace(report["snapshot"], str(kept)) + "\n")
EOF
}

# run and deploy: the tool, then its undo line kept on the agent, whether it ended well or not.
run_changing() {
    local status=0
    ( run_tool "$@" ) || status=$?
    keep_undo
    exit "$status"
}

moment_args() {  # the moment of plan and diff: AT (an instant) when given, else the chosen DATE
    if [ -n "${AT:-}" ]; then
        echo "--at=$AT"
    else
        echo "--date=${DATE:?set DATE (the date chosen at the approval) or AT}"
    fi
}

case "$stage" in
    get)
        find "$dump" -mindepth 1 -delete
        repos="$(setting fleet_rollback_services)"
        run_tool get "--repo=${ROLLBACK_REPOS:-$repos}" "--env=$ENVIRONMENT" "--dump=$dump"
        run_tool dates --json "--dump=$dump" >"$dump/dates.json"
        # SERVICES and EXCLUDE checked now, before anyone is asked for a date (the tool checks again)
        "$python" - "$dump/dates.json" "${SERVICES:-}" "${EXCLUDE:-}" >"$dump/reason.txt" <<'EOF' || {
import json, sys
known = json.load(open(sys.argv[1], encoding="utf-8"))["services"]
unknown = [n for v in sys.argv[2:] if v for n in v.split(",") if n.strip() not in known]
if unknown:
    print(f"error: SERVICES/EXCLUDE name {', '.join(repr(n) for n in unknown)}, not a service of rollback.json "
          f"(services: {', '.join(known)})")
    sys.exit(2)
EOF
            cat "$dump/reason.txt" >&2; exit 2; }
        rm -f "$dump/reason.txt"
        ;;
    plan)
        set -- plan "$(moment_args)" "--env=$ENVIRONMENT" "--dump=$dump" "--out=$dump/plan.json"
        [ -z "${SERVICES:-}" ] || set -- "$@" "--only=$SERVICES"
        [ -z "${EXCLUDE:-}" ] || set -- "$@" "--exclude=$EXCLUDE"
        [ -z "${RULE:-}" ] || set -- "$@" "--rule=$RULE"
        ! is_on "${STRICT:-}" || set -- "$@" --strict
        ! is_on "${WITH_CONFIG:-}" || set -- "$@" --with-config
        status=0
        ( run_tool "$@" >"$dump/plan.txt" ) || status=$?
        cat "$dump/plan.txt"  # also a refused plan: its table and checks say why
        exit "$status"
        ;;
    run)
        [ -f "$dump/plan.json" ] || { echo "error: no $dump/plan.json: the plan stage writes it" >&2; exit 2; }
        set -- run "--plan=$dump/plan.json" "--env=$ENVIRONMENT" "--dump=$dump"
        on_failure="${ON_FAILURE:-$(setting fleet_rollback_on_failure)}"  # empty: the environment's
        [ -z "$on_failure" ] || set -- "$@" "--on-failure=$on_failure"
        timeout="$(setting fleet_rollback_timeout)"
        [ -z "$timeout" ] || set -- "$@" "--timeout=$timeout"
        run_changing "$@"
        ;;
    undo)
        set -- undo "--dump=$dump"
        if [ -n "${SNAPSHOT:-}" ]; then
            snapshot="$SNAPSHOT"
            [ -f "$snapshot" ] || [ ! -f "$home/snapshots/$snapshot" ] || snapshot="$home/snapshots/$snapshot"
            set -- "$@" "--snapshot=$snapshot"
            ! is_on "${FORCE:-}" || set -- "$@" --force
        elif [ -n "${STATE:-}" ] && [ "$STATE" != file ]; then  # a shared store: the last change, from any agent
            set -- "$@" --last "--env=$ENVIRONMENT"
            ! is_on "${FORCE:-}" || set -- "$@" --force
        elif [ -s "$home/last-undo" ]; then  # the last changing run of this environment on this agent
            read -r -a last <"$home/last-undo"
            set -- "$@" "${last[@]:2}"  # its own undo line: --snapshot=<file> [--force]
        else
            echo "error: no run of $ENVIRONMENT that changed something is known on this agent; set SNAPSHOT" \
                | tee "$dump/reason.txt" >&2
            exit 2
        fi
        status=0
        ( run_tool "$@" ) || status=$?
        exit "$status"  # the kept line stays the run's: undo twice is a no-op, never a redo
        ;;
    deploy)  # Jenkinsfile.deploy: IMAGES and HEALTH_URLS one service=value per line, AUTO_ROLLBACK
        find "$dump" -mindepth 1 -delete
        set -f  # the lines are split on white space, never globbed
        set -- deploy "--env=$ENVIRONMENT" "--dump=$dump"
        for image in ${IMAGES:-}; do set -- "$@" "--image=$image"; done
        for url in ${HEALTH_URLS:-}; do set -- "$@" "--health-url=$url"; done
        if is_on "${AUTO_ROLLBACK:-true}"; then set -- "$@" --auto-rollback=on; else set -- "$@" --auto-rollback=off; fi
        timeout="$(setting fleet_rollback_timeout)"
        [ -z "$timeout" ] || set -- "$@" "--timeout=$timeout"
        run_changing "$@"
        ;;
    status)
        run_tool status "--env=$ENVIRONMENT" "--dump=$dump" | tee "$dump/status.txt"
        ;;
    diff)
        from="${DATE:?set DATE (the last day it worked)}"
        run_tool diff "--from=$from" "--env=$ENVIRONMENT" "--dump=$dump" | tee "$dump/diff.txt"
        ;;
    *)
        echo "error: unknown stage $stage (get, plan, run, undo, status, diff, deploy)" >&2
        exit 2
        ;;
esac
