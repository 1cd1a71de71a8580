"""A value that never shows itself, and the one redaction every byte the tool writes goes through.

Every :class:`Secret` made anywhere (flags, environment, ``--pwd-file``, the docker config's
``auths``, the password of a URL's ``user:password@``, app ``env``/``secrets`` values) joins
:data:`REGISTRY`. :func:`redact` then hides, in any text: credentials where they occur (URL
userinfo with or without a scheme, ``Authorization`` values, known secret fields, Slack
webhook paths and tokens) and, as substrings, every registered secret that is strong enough.
A short or common secret (under 8 characters, or a branch or environment name) is not hidden
as a substring: hiding every ``master`` in the output would tell readers the password. It is
still hidden where credentials occur, and the run warns about it (see :func:`weak_secrets`).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import threading
import urllib.parse
from typing import Callable, Iterable

HIDDEN = "<hidden>"
MIN_STRONG = 8
# Words that turn up in the tool's own output: a secret equal to one is never substring-redacted.
COMMON = frozenset({
    "master", "main", "develop", "development", "stage", "staging", "prod", "production", "release",
    "latest", "password", "passw0rd", "admin", "secret", "changeme", "default", "marathon", "registry",
    "rollback", "snapshot", "succeeded", "failed", "unchanged", "interrupted", "localhost",
})


class Secret:
    """Holds a password, token or webhook URL; only :meth:`reveal` gives the value back.

    ``name`` says where it came from (``--pwd``, ``REGISTRY_PASSWORD``), for warnings that
    must not show the value.
    """

    __slots__ = ("_value", "name")

    def __init__(self, value: str, name: str = "a secret") -> None:
        self._value = value
        self.name = name
        REGISTRY.add(self)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_weak(value: str, common: Iterable[str] = (), data: Iterable[str] = ()) -> bool:
    """Too short or too common to hide everywhere without revealing it, or part of the run's data.

    ``data`` are values the tool writes as data (image references, app ids): a secret inside one
    (a password equal to a running tag) hidden as a substring would corrupt the snapshot that
    ``undo`` needs (``web:<hidden>``) and tell readers the password.
    """
    lowered = value.lower()
    return len(value) < MIN_STRONG or lowered in COMMON or lowered in {c.lower() for c in common} \
        or value.isdigit() or any(lowered in word.lower() for word in data)


def _forms(value: str) -> set[str]:
    """The spellings a value takes in the tool's output: raw, in JSON, in HTML and XML (JUnit's attributes
    and text, Slack's mrkdwn escape only ``& < >``), in a URL, in a ``repr`` (a traceback, a message)."""
    xml_text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml_attribute = xml_text.replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1], html.escape(value),
             html.escape(value, quote=False), xml_text, xml_attribute,
             urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe=""),
             repr(value)[1:-1], ascii(value)[1:-1], repr(value.encode("utf-8", "surrogatepass"))[2:-1]}
    return {f for f in forms if f}


class Registry:
    """Every secret this process has seen; strong ones are hidden wherever they appear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: list[Secret] = []
        self._common: set[str] = set()
        self._data: set[str] = set()
        self._forms: list[str] = []

    def add(self, secret: Secret) -> None:
        value = secret.reveal()
        if not value:
            return
        with self._lock:
            if any(s.reveal() == value for s in self._secrets):
                return
            self._secrets.append(secret)
            self._rebuild()

    def add_user(self, user: str, secret: Secret | None) -> None:
        """The Basic-auth encoding of ``user:password`` is a secret of its own."""
        if user and secret and not self.weak_value(secret.reveal()):
            Secret(base64.b64encode(f"{user}:{secret.reveal()}".encode("utf-8")).decode("ascii"), secret.name)

    def common_words(self, words: Iterable[str]) -> None:
        """Words this run prints (branches, environments, services): a secret equal to one is weak."""
        with self._lock:
            self._common.update(w for w in words if w)
            self._rebuild()

    def data_words(self, words: Iterable[str]) -> None:
        """Values the tool writes as data (images, app ids): a secret found inside one is weak."""
        new = {w for w in words if isinstance(w, str) and w} - self._data
        if not new:
            return
        with self._lock:
            self._data.update(new)
            self._rebuild()

    def weak_value(self, value: str) -> bool:
        return is_weak(value, self._common, self._data)

    def _rebuild(self) -> None:
        forms: set[str] = set()
        for secret in self._secrets:
            if not is_weak(secret.reveal(), self._common, self._data):
                forms |= _forms(secret.reveal())
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: a secret inside another

    def weak(self) -> list[Secret]:
        with self._lock:
            return [s for s in self._secrets if is_weak(s.reveal(), self._common, self._data)]

    def forms(self) -> list[str]:
        with self._lock:
            return list(self._forms)

    def reset(self) -> None:
        """A new command starts with what it reads itself (tests run many commands in one process)."""
        with self._lock:
            self._secrets.clear()
            self._common.clear()
            self._data.clear()
            self._forms = []


REGISTRY = Registry()

# The one list of names that say their value is a secret: an app's env variable (DB_PASSWORD,
# API_KEY, SENTRY_DSN, SLACK_WEBHOOK) is registered as one, a config key like these is refused.
SECRET_NAME = re.compile(r"(?i)pass|pwd|secret|token|key|credential|auth|private|cert|dsn|webhook|slack_url")


def secret_name(name: object) -> bool:
    """Does ``name`` (an env variable, a config key) say that its value is a secret?"""
    return SECRET_NAME.search(str(name)) is not None

# Credentials where they occur, whatever their strength. A password may hold an unencoded ``/``,
# ``@``, ``?`` or ``#`` (``http://ops:pa/ss@host``): userinfo runs to the last ``@`` of the URL,
# valid or not, never past a space or a quote.
_SCHEME_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s'\"<>]*@")
# ops:pw@host typed without a scheme; not an image's repo:tag@sha256:<hex>
_BARE_USERINFO = re.compile(
    r"(?<![\w/:.@-])([\w.~%+-]+):[^\s'\"<>]+@(?![a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32})(?=[\w\[])")
_AUTH_HEADER = re.compile(r"(?i)(\bauthorization\b['\"]?\s*[:=]\s*['\"]?)(?:(basic|bearer|token)\s+)?[^\s'\",}]+")
# A field's value runs to a blank, a quote, ',', '}', '&' or ';': anything else (']' and ')' too) may be
# part of a real password, so it is hidden with it. A placeholder, '<' letters '>' closed by such an end
# (after any ']', ')' or '|' closing a usage bracket) or by a full stop, is no secret and stays as it is
# (docopt's <p>, our own <hidden>).
_PLACEHOLDER = r"<[A-Za-z][\w,.-]*>(?=[\])|]*(?:$|[\s'\",}&;]|\.(?:\s|$)))"
_SECRET_FIELD = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|pwd|secret|token)['\"]?\s*[:=]\s*['\"]?)(?!" + _PLACEHOLDER
    + r")([^\s'\",}&;]+)")
_SLACK = re.compile(r"(?i)(hooks\.slack\.com\.?(?::\w*)?/+(?:services|workflows|triggers)/)[^\s'\"<>]+|\bxox[abposr]-[\w-]+")


_RELATIVE_USERINFO = re.compile(r"(?<![\w:])//[^\s'\"<>]*@")  # //ops:pw@host (no scheme)
_URL_START = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|//)?")


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(scheme://, user:password, the rest)`` of a URL typed with or without a scheme, valid or not.

    The userinfo runs to the last ``@`` (RFC 3986 ends it at the first ``/``, but a password typed
    unencoded holds ``/``, ``@``, ``?`` or ``#``); ``(url, None, "")`` when there is none.
    """
    start = _URL_START.match(url)
    head = start.group(0) if start else ""
    userinfo, at, rest = url[len(head):].rpartition("@")
    if not at or not userinfo or any(c.isspace() for c in userinfo):
        return url, None, ""
    return head, userinfo, rest


# Credentials where they occur, and how each is hidden (given the rule's own groups).
_RULES: tuple[tuple[re.Pattern[str], Callable[[tuple[str | None, ...]], str]], ...] = (
    (_SCHEME_USERINFO, lambda g: f"{g[0]}{HIDDEN}@"),
    (_RELATIVE_USERINFO, lambda g: f"//{HIDDEN}@"),
    (_BARE_USERINFO, lambda g: f"{g[0]}:{HIDDEN}@"),
    (_AUTH_HEADER, lambda g: f"{g[0]}{g[1] + ' ' if g[1] else ''}{HIDDEN}"),
    (_SECRET_FIELD, lambda g: f"{g[0]}{HIDDEN}"),
    (_SLACK, lambda g: f"{g[0]}{HIDDEN}" if g[0] else HIDDEN),
)


class _Redactor:
    """One pattern for the credential rules and every strong secret's spellings, compiled once per set
    of spellings: text is scanned once, and at each place the leftmost match wins (a URL's whole
    userinfo goes, not only the password inside it)."""

    def __init__(self, forms: tuple[str, ...]) -> None:
        self.forms = forms                        # longest first: a secret inside another
        parts, self._rules = [], dict[int, tuple[int, Callable[[tuple[str | None, ...]], str]]]()
        index = 1
        for pattern, how in _RULES:
            source = pattern.pattern.removeprefix("(?i)")
            flags = "i" if pattern.flags & re.IGNORECASE else ""
            parts.append(f"((?{flags}:{source}))" if flags else f"({source})")
            self._rules[index] = (pattern.groups, how)
            index += 1 + pattern.groups
        if forms:
            parts.append("(" + "|".join(map(re.escape, forms)) + ")")
        self.pattern = re.compile("|".join(parts))

    def redact(self, text: str) -> str:
        return self.pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        index = match.lastindex or 0
        if index not in self._rules:
            return HIDDEN                         # a strong secret's spelling
        count, how = self._rules[index]
        # what a rule keeps (a scheme, a user name, a field name) may itself hold a secret
        return how(tuple(None if g is None else self._forms_in(g) for g in match.groups()[index:index + count]))

    def _forms_in(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, HIDDEN)
        return text


@functools.lru_cache(maxsize=8)
def _redactor(forms: tuple[str, ...]) -> _Redactor:
    return _Redactor(forms)


def redact(text: str, secrets: "Iterable[Secret | None]" = ()) -> str:
    """Hide credentials where they occur and every strong known secret wherever it appears: one pass
    of one pattern, built once for the secrets known (the output boundary: console, logs, Slack)."""
    if not text:
        return text
    forms = REGISTRY.forms()
    extra = [f for secret in secrets if secret and not REGISTRY.weak_value(secret.reveal())
             for f in _forms(secret.reveal()) if f not in forms]  # call sites pass their own; usually registered
    return _redactor(tuple(sorted(set(forms + extra), key=len, reverse=True)) if extra else tuple(forms)).redact(text)


def weak_secrets() -> list[Secret]:
    """Secrets too short or common to hide everywhere: the run warns about each."""
    return REGISTRY.weak()


def shorten(value: object, limit: int = 80) -> str:
    """``repr`` of a value for a message, cut to ``limit`` characters (a value can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
