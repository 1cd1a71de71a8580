"""HTTP answers as values: Reply for success, ApiError for Marathon's error bodies."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass
class Reply:
    """An answer: body None is empty, a str is sent as `content_type`, anything else as JSON."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class ApiError(Exception):
    """An HTTP error answer with Marathon's body shape (Marathon's MarathonExceptionMapper.scala)."""

    def __init__(
        self,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def not_found_app(app_id: str) -> ApiError:
    return ApiError(404, {"message": f"App '{app_id}' does not exist"})


def not_valid(details: list[dict[str, Any]]) -> ApiError:
    """422 for a semantically invalid definition (MarathonExceptionMapper.scala)."""
    return ApiError(422, {"message": "Object is not valid", "details": details})


def invalid_json(details: list[dict[str, Any]] | str, status: int = 422) -> ApiError:
    """Type errors give 422 with a list; unparseable JSON gives 400 with a string."""
    return ApiError(status, {"message": "Invalid JSON", "details": details})
