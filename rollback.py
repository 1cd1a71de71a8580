#!/usr/bin/env python3
"""Entry point kept at the repository root, as the Ansible role and Jenkins call it."""
import sys

from fleetrewind.cli import main

if __name__ == "__main__":
    sys.exit(main())
