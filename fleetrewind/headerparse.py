"""An answer's headers read without the ``email`` package when they are plain ``Name: value`` lines.

``http.client`` reads the header block with its limits (``_read_headers``: 65,536 bytes a line, 100
headers), then hands the whole block to ``email``'s feed parser: about 60 microseconds per answer,
the largest single cost of a registry request after the socket itself (docs/performance.md, "CPU per
registry request"). For a block of single-line fields, no folding, no bare CR, no multipart or message
type, that parser does nothing but ``policy.header_source_parse`` and ``set_raw`` on each line, so the
same :class:`http.client.HTTPMessage` is built here from those two calls. Anything else (a folded or
nameless line, a ``From `` line, a block cut short) goes to ``http.client.parse_headers`` itself, so
its defects, and urllib3's warning about them, stay what they were.
"""

from __future__ import annotations

import http.client
import io
import re
import types
from typing import BinaryIO

# Field lines the feed parser takes as one header each and nothing more: a name of visible characters
# but ':' (its headerRE, without the empty name it flags as a defect), a value without CR or LF, one line
# end; then the blank line that ends the block.
_PLAIN_BLOCK = re.compile(rb"(?:[!-9;-~]+:[^\r\n]*\r?\n)*\r?\n")


def parse_headers(fp: BinaryIO) -> http.client.HTTPMessage:
    """The headers of an answer, as ``http.client.parse_headers`` returns them, read under its limits."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # raises LineTooLong, HTTPException
    block = b"".join(lines)
    if _PLAIN_BLOCK.fullmatch(block):
        message = http.client.HTTPMessage()
        source = message.policy.header_source_parse
        for line in lines[:-1]:
            message.set_raw(*source([line.decode("iso-8859-1")]))
        if message.get_content_maintype() not in ("multipart", "message"):  # those, the parser reads on
            message.set_payload("")  # what the parser leaves: the (empty) rest of the block
            return message
    return http.client.parse_headers(io.BytesIO(block))


def _begin_reading_with(parse: object) -> object:
    """``HTTPResponse.begin`` itself, with its module's ``parse_headers`` name bound to ``parse``.

    The status line, 1xx answers, chunking, length and keep-alive stay ``http.client``'s own code; only
    the header parse differs. On a Python whose ``begin`` no longer calls ``parse_headers``, the stock one.
    """
    stock = http.client.HTTPResponse.begin
    if "parse_headers" not in stock.__code__.co_names:
        return stock
    scope = dict(vars(http.client), parse_headers=parse)
    return types.FunctionType(stock.__code__, scope, stock.__name__, stock.__defaults__, stock.__closure__)


class Response(http.client.HTTPResponse):
    """``http.client``'s response with :func:`parse_headers`; a connection's ``response_class``."""

    begin = _begin_reading_with(parse_headers)  # type: ignore[assignment]
