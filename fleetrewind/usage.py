"""The usage text: the manual of the command line and the spec docopt parses."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import docopt

USAGE = """\
Put a fleet of Marathon services back to the Docker images they ran on a date.

Usage:
  rollback.py get --repo=<r> --env=<e> [--dump=<dir>] [--keep=<n>] [options]
  rollback.py dates [--dump=<dir>] [--json] [options]
  rollback.py plan (--date=<d> | --at=<t>) --env=<e> [--dump=<dir>] [--user=<u>] [--pwd=<p>] [--only=<svc,...>]
                   [--exclude=<svc,...>] [--timeout=<s>] [--rule=<r>] [--strict] [--with-config] [--out=<file>]
                   [--json] [options]
  rollback.py run (--date=<d> | --at=<t> | --to=<last-good> | --plan=<file>) --env=<e> [--slack=<s>] [--user=<u>]
                  [--pwd=<p>] [--dump=<dir>] [--only=<svc,...>] [--exclude=<svc,...>] [--dry-run] [--force] [--on-failure=<policy>] [--timeout=<s>]
                  [--rule=<r>] [--strict] [--with-config] [--json] [options]
  rollback.py undo (--snapshot=<file> | --last --env=<e>) [--slack=<s>] [--user=<u>] [--pwd=<p>] [--dump=<dir>]
                   [--force] [--timeout=<s>] [--json] [options]
  rollback.py deploy --env=<e> --image=<svc=tag>... [--health-url=<svc=url>...] [--timeout=<s>]
                     [--auto-rollback=<on|off>] [--slack=<s>] [--user=<u>] [--pwd=<p>] [--dump=<dir>]
                     [--force] [--json] [options]
  rollback.py diff (--from=<date> | --at=<t>) [--to=<date>] --env=<e> [--dump=<dir>] [--user=<u>] [--pwd=<p>] [--json]
                   [options]
  rollback.py status --env=<e> [--dump=<dir>] [--user=<u>] [--pwd=<p>] [--json] [options]
  rollback.py (-h | --help)
  rollback.py --version

Commands:
  get      Read the registry and write rollback.json, the date index (and rollback.html).
  dates    Print the dates of rollback.json, newest first (--json: with labels).
  plan     Show what a rollback to --date would change, service by service.
  run      Roll the fleet back to --date (or --to=last-good): snapshot, redeploy, wait, report.
  undo     Put back the images recorded in a snapshot file.
  deploy   Deploy new images; roll back automatically if they do not come up healthy.
  diff     The releases built after --from up to the end of --to, per service: the suspects.
  status   What runs now, deployments in flight, the lock and the last run (changes nothing).

Arguments:
  --repo=<r>             Comma-separated service (repository) names.
  --env=<e>              Environment: dev, stage, prod... (a Marathon path segment).
  --date=<d>             A date of rollback.json (YYYY-MM-DD), as `dates` lists them; with
                         --rule=ran or good, any calendar day (its end, in --tz).
  --at=<t>               plan, run with --rule=ran or good: a moment instead of a date, ISO 8601
                         with an offset or zone (2026-11-19T14:05+01:00, 2026-11-19T13:05Z);
                         diff: what was built and deployed after that moment (instead of --from).
  --to=<last-good>       run: instead of a date, the last state a deploy or run ended well (ledger).
                         diff: the last day to list (YYYY-MM-DD; default today).
  --from=<date>          diff: list the releases built after the end of this day (YYYY-MM-DD).
  --out=<file>           plan: also write the plan to this file (for run --plan after an approval).
  --plan=<file>          run: carry out exactly the plan that plan --out wrote; refused (exit 3)
                         when an app in its scope or rollback.json changed since.
  --only=<svc,...>       plan, run: change only these services of rollback.json (pinned ones too).
  --exclude=<svc,...>    plan, run: leave these services as they are (applied after --only).
  --dump=<dir>           Folder for rollback.json, snapshots and reports (default: current folder).
  --keep=<n>             Keep only the newest n releases per service.
  --user=<u>             Marathon user (env MARATHON_USER).
  --pwd=<p>              Marathon password (env MARATHON_PASSWORD, or --pwd-file).
  --slack=<s>            Slack incoming-webhook URL (env SLACK_WEBHOOK_URL).
  --snapshot=<file>      A snapshot-<stamp>.json written by run, deploy or undo.
  --last                 undo: the snapshot of --env's last run or deploy that changed something
                         (an interrupted one first), as the state store recorded it, from any
                         machine that shares the store.
  --image=<svc=tag>      A service and the tag (or image) to deploy; repeat per service.
  --health-url=<svc=url> An HTTP URL that must answer 2xx after the service is deployed.
  --timeout=<s>          Seconds one wave may take to be deployed and healthy (default 600).
  --on-failure=<policy>  stop, continue or revert (default stop).
  --auto-rollback=<on|off>  Roll back a failed deploy automatically (default on).
  --dry-run              Show the plan, change nothing.
  --rule=<r>             built: the newest release built by the end of the date (default);
                         ran: the image Marathon held at the end of the date;
                         good: the newest version held by then that served healthy (config rule).
  --strict               Refuse (exit 3) when a target never ran, never served healthy or failed
                         before, when no version was good, or the set never ran together.
  --with-config          Restore each changing app's whole definition of the date (implies --rule=ran).
  --force                Override a deployment in flight (Marathon's force=true) and take over a
                         lock left on another host (never one a live run holds).
  --json                 Machine-readable output on stdout.

Options:
  --registry=<url>       Docker registry URL (env DOCKER_REGISTRY). Credentials: REGISTRY_USER and
                         REGISTRY_PASSWORD, or the docker config.json (env DOCKER_CONFIG).
  --marathon=<url>       Marathon URL (env MARATHON_URL).
  --marathon-auth=<m>    basic or dcos (DC/OS token login) (env MARATHON_AUTH; default basic).
  --pwd-file=<file>      Read the Marathon password from a file.
  --config=<file>        YAML file of non-secret settings (env ROLLBACK_CONFIG).
  --ca-bundle=<file>     CA bundle for registry and Marathon TLS (env ROLLBACK_CA_BUNDLE).
  --insecure             Do not verify TLS certificates (prints a warning every time).
  --tz=<zone>            Time zone that dates are days of (env ROLLBACK_TZ; default UTC).
  --tag-pattern=<re>     Tag regular expression with a (?P<branch>) group
                         (default ^(?P<build>\\d+)-(?P<branch>.+)$).
  --branch=<b>           Branch of the environment (default: prod->master, stage->stage,
                         dev->develop, else the environment name).
  --platform=<p>         Platform of multi-arch images (default linux/amd64).
  --concurrency=<n>      Parallel registry requests (default 16).
  --parallel=<n>         Parallel deployments inside a wave (default 8).
  --cache-dir=<dir>      Registry cache (env ROLLBACK_CACHE_DIR; default ~/.cache/fleetrewind).
  --no-cache             Do not read or write the registry cache.
  --lock-dir=<dir>       File store: folder of the per-environment locks, shared by every user of
                         the machine (env ROLLBACK_LOCK_DIR; default /run/lock/fleetrewind).
  --state=<url>          Where the lock, journal and snapshots live: file (default) or
                         zk://host:port[,host:port...]/<chroot> (env ROLLBACK_STATE; ZooKeeper
                         credentials: ROLLBACK_ZK_AUTH=user:password).
  --slack-channel=<c>    Channel for a bot token (SLACK_BOT_TOKEN) (env SLACK_CHANNEL).
  --ledger=<file>        History of deploy and run outcomes (default <dump>/ledger.jsonl).
  --actor=<name>         Who runs this, for Slack and the report (env BUILD_USER, else USER).
  -q --quiet             Only results and errors.
  -v --verbose           Debug logging on stderr.
  -h --help              Show this help.
  --version              Show the version.

Exit codes:
  0 done or nothing to do; 1 the rollback or deployment failed; 2 bad usage or input;
  3 refused (deployment in flight, lock held); 4 registry, Marathon or credentials unreachable.
"""


@functools.cache
def _parser() -> tuple[docopt.BranchPattern, tuple[docopt.Option, ...]]:
    """The usage text parsed into docopt's pattern, once per process: building it costs about 0.1 s,
    matching a command line against it a tenth of a millisecond. The steps are docopt's own."""
    sections = docopt.parse_docstring_sections(USAGE)
    docopt.lint_docstring(sections)
    docopt.DocoptExit.usage = sections.usage_header + sections.usage_body
    options = [*docopt.parse_options(sections.before_usage), *docopt.parse_options(sections.after_usage)]
    pattern = docopt.parse_pattern(docopt.formal_usage(sections.usage_body), options)
    named = set(pattern.flat(docopt.Option))
    for shortcut in pattern.flat(docopt.OptionsShortcut):
        shortcut.children = [option for option in options if option not in named]
    return pattern.fix(), tuple(options)


Given = str | bool | list[str] | None  # what docopt gives: an option's text, a switch or command, a repeated option


@dataclass(frozen=True)
class CommandLine:
    """docopt's answer, typed at the edge: what the settings read of each option and command."""

    given: Mapping[str, Given]

    def text(self, name: str) -> str | None:
        value = self.given.get(name)
        return value if isinstance(value, str) else None

    def texts(self, name: str) -> list[str]:
        """A repeated option's values, in the order typed."""
        value = self.given.get(name)
        return list(value) if isinstance(value, list) else []

    def switch(self, name: str) -> bool:
        """A flag or a command: typed or not (a non-empty text or list counts as typed)."""
        return bool(self.given.get(name))


def parse_command_line(argv: Sequence[str]) -> CommandLine:
    """``docopt(USAGE, argv, default_help=False)``: the same answer, or DocoptExit for a line it refuses."""
    built, options = _parser()
    pattern = _fresh(built, {})  # docopt's defaults are mutable (a repeated option's [])
    typed = docopt.parse_argv(docopt.Tokens(list(argv)), list(options), False)
    matched, left, collected = pattern.match(typed)
    if matched and not left:
        return CommandLine({a.name: _given(a.value) for a in pattern.flat() + collected})
    raise docopt.DocoptExit(collected=collected, left=left)


def _fresh(node: Any, made: dict[int, Any]) -> Any:
    """A copy of the built pattern for one command line: ``copy.deepcopy``'s result (a leaf shared by
    two branches stays shared, a list value is a new list) by a walk over its two kinds of node, about
    four times faster (deepcopy's generic dispatch took a tenth of the unit tier)."""
    twin = made.get(id(node))
    if twin is None:
        twin = made[id(node)] = object.__new__(type(node))
        twin.__dict__.update(vars(node))  # docopt's nodes keep their state in plain attributes
        if isinstance(node, docopt.BranchPattern):
            twin.children = [_fresh(child, made) for child in node.children]
        elif isinstance(node.value, list):
            twin.value = list(node.value)
    return twin


def _given(value: Any) -> Given:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise TypeError(f"docopt gave {type(value).__name__}; the usage text declares no such option")
