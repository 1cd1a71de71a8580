"""Run a command with environment variables read from a JSON file: with_secrets.py FILE CMD [ARG...]

The fleet_rollback role hands the tool its secrets this way. Ansible's `environment:` keyword
writes the variables into the command line it runs on the host, which `-vvv` prints and `ps`
shows; this file (mode 0600, in a private folder the role removes afterwards) is never shown.
Empty values are left out, so the host's own environment or the tool's other sources apply.
"""

import json
import os
import sys


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: with_secrets.py FILE COMMAND [ARG...]")
    env_file, command = sys.argv[1], sys.argv[2:]
    with open(env_file, encoding="utf-8") as handle:
        extra = json.load(handle)
    env = dict(os.environ)
    env.update({name: str(value) for name, value in extra.items() if value})
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
