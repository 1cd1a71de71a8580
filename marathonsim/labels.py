"""`?label=` selectors for GET /v2/apps (Marathon's AppsResource.index): comma = AND of `key`,
`key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`; `\\` escapes a special character."""
from __future__ import annotations

import re
from typing import Callable, Mapping

from .replies import ApiError

Matcher = Callable[[Mapping[str, str]], bool]
_KEY = r"(?P<key>(?:\\.|[^\s=!(),])+)"
_EQUALITY = re.compile(_KEY + r"\s*(?P<op>==|!=)\s*(?P<value>(?:\\.|[^\s,()])*)$")
_SET = re.compile(_KEY + r"\s+(?P<op>in|notin)\s*\((?P<values>.*)\)$")
_EXISTS = re.compile(r"^(?:\\.|[^\s=!(),])+$")
_UNESCAPE = re.compile(r"\\(.)")


def parse_selector(text: str) -> Matcher:
    """A predicate over an app's labels; 422 when the selector cannot be parsed."""
    matchers = [_term(term.strip()) for term in _split(text, ",") if term.strip()]
    return lambda labels: all(m(labels) for m in matchers)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses, honouring backslash escapes."""
    parts, current, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i:i + 2]
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    return parts + [current]


def _term(term: str) -> Matcher:
    if m := _EQUALITY.match(term):
        key, value = _unescape(m["key"]), _unescape(m["value"])
        if m["op"] == "==":
            return lambda labels: labels.get(key) == value
        return lambda labels: labels.get(key) != value
    if m := _SET.match(term):
        key = _unescape(m["key"])
        values = {_unescape(v.strip()) for v in _split(m["values"], ",")}
        if m["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if _EXISTS.match(term):
        key = _unescape(term)
        return lambda labels: key in labels
    raise ApiError(422, {"message": f"Can not parse label selector {term!r}"})
