"""The ``state`` setting: ``file`` (the default) or ``zk://host:port[,host:port...]/<chroot>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError
from ..secret import shorten

_HOST_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\]):([0-9]{1,5})",
                      re.ASCII)
_CHROOT_RE = re.compile(r"(?:/[A-Za-z0-9._-]{1,100}){1,8}", re.ASCII)
SETTING = "--state (or ROLLBACK_STATE, or config state)"


@dataclass(frozen=True)
class StateUrl:
    kind: str  # "file" or "zk"
    hosts: tuple[str, ...] = ()  # host:port, as kazoo takes them
    chroot: str = ""  # "/fleetrewind/prod-dc1": every node the tool creates is under it

    def __str__(self) -> str:
        return "file" if self.kind == "file" else f"zk://{','.join(self.hosts)}{self.chroot}"


def parse_state_url(value: object) -> StateUrl:
    """``file`` or a ZooKeeper URL; anything else (credentials in it too) is one error naming the setting."""
    if value in (None, "", "file"):
        return StateUrl("file")
    if not isinstance(value, str):
        raise UsageError(f"{SETTING} must be file or zk://host:port/<chroot> (found: {shorten(value)})")
    text = value.strip()
    if not text.startswith("zk://"):
        raise UsageError(f"{SETTING} must be file or zk://host:port[,host:port...]/<chroot> (found: {shorten(text)})")
    rest = text[len("zk://"):]
    hosts_part, slash, chroot = rest.partition("/")
    if "@" in hosts_part:
        raise UsageError(f"{SETTING}: put no credentials in the URL; set ROLLBACK_ZK_AUTH=user:password instead")
    chroot = slash + chroot
    hosts = tuple(hosts_part.split(","))
    for host in hosts:
        match = _HOST_RE.fullmatch(host)
        if not match or not 0 < int(match.group(1)) < 65536:
            raise UsageError(f"{SETTING}: {shorten(host)} is not host:port (found in {shorten(text)})")
    if not _CHROOT_RE.fullmatch(chroot) or any(part in (".", "..") for part in chroot.split("/")):
        raise UsageError(f"{SETTING}: the URL needs a chroot path such as /fleetrewind after the hosts "
                         f"(letters, digits, . _ -; found: {shorten(chroot or '(none)')})")
    return StateUrl("zk", hosts, chroot)
