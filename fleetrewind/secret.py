"""A value that never shows itself in a repr, a log line or a traceback."""

from __future__ import annotations


class Secret:
    """Holds a password, token or webhook URL; only :meth:`reveal` gives the value back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

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


def redact(text: str, secrets: "list[Secret | None] | tuple[Secret | None, ...]") -> str:
    """Replace every known secret value in ``text`` with ``<hidden>`` (last line of defence)."""
    for secret in secrets:
        if secret and len(secret.reveal()) >= 3:
            text = text.replace(secret.reveal(), "<hidden>")
    return text
