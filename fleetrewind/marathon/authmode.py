"""How the tool authenticates to Marathon (``--marathon-auth``)."""

from __future__ import annotations

from enum import StrEnum


class AuthMode(StrEnum):
    BASIC = "basic"  # HTTP basic with --user and the password
    DCOS = "dcos"  # a DC/OS ACS token from /acs/api/v1/auth/login, renewed once on a 401
