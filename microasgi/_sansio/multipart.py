"""``multipart/form-data`` framing: boundaries, and where a body's preamble, part header
sections and closing delimiter lie, across chunks (the parts themselves are parsed by the
``multipart`` package).

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import re

from microasgi._sansio.forms import FormDataError

__all__ = ["CONTROL_IN_PART_HEADER", "MultipartFrame", "is_multipart_boundary"]

# SPEC: RFC 2046 section 5.1.1: boundary := 0*69<bchars> bcharsnospace, and bchars are these.
_BOUNDARY = re.compile(r"[0-9A-Za-z'+_,\-./:=?() ]{0,69}[0-9A-Za-z'+_,\-./:=?()]")


CONTROL_IN_PART_HEADER = (
    "A part header holds a control character such as a bare LF; header lines end with CRLF."
)


class MultipartFrame:
    """Finds, across the chunks of a multipart body, its preamble, its part header sections and its
    closing delimiter.

    RFC 2046 lets a body hold a preamble before its first delimiter and an epilogue after the
    closing one, both to be ignored. Ignoring them must not mean reading them forever: ``feed``
    refuses a preamble longer than ``max_preamble`` bytes and says where the closing delimiter
    ends, so the reader stops there. It also finds a bare LF in a part's header section, which
    the multipart library accepts or refuses depending on where the chunks end: ``feed`` stops
    just before it and sets ``error``. Every answer depends on the bytes alone, never on how they
    were split into chunks.

    Args:
        boundary: the boundary, from the ``Content-Type``.
        max_preamble: the most bytes allowed before the first delimiter.
    """

    __slots__ = (
        "_consumed",
        "_delimiter",
        "_first",
        "_line",
        "_max_preamble",
        "_previous",
        "_state",
        "_tail",
        "done",
        "error",
    )

    def __init__(self, boundary: str, max_preamble: int) -> None:
        self._first = b"--" + boundary.encode("latin-1")
        # SPEC: "\r\n--boundary" never occurs inside a part: each one is a delimiter, closing
        # the body when "--" follows it.
        self._delimiter = b"\r\n" + self._first
        self._max_preamble = max_preamble
        # "preamble", then "first" (at the first delimiter), then "headers" and "body" in turn
        self._state = "preamble"
        self._tail = b""  # the last bytes seen, where a delimiter split between chunks begins
        self._consumed = 0  # bytes of the preamble before _tail
        self._line = 0  # bytes of the current header line seen in earlier chunks
        self._previous: int = 0  # the byte before the current chunk, in a header section
        self.done = False  # the closing delimiter was seen
        self.error: str | None = None  # why the body is refused, once ``feed`` stopped for it

    def feed(self, chunk: bytes) -> int:
        """Take the next chunk; return how many of its bytes to parse: all of them, or up to the
        end of the closing delimiter (then ``done`` is true), or up to a bare LF in a header
        section (then ``error`` says why the body is refused).

        Raises:
            FormDataError: the first delimiter starts more than ``max_preamble`` bytes in, or
                neither at the start of the body nor after CRLF.
        """
        window = self._tail + chunk
        offset = len(self._tail)  # where the chunk starts in the window
        self._tail = b""
        if self._state == "preamble":
            index = window.find(self._first)
            if index < 0:
                # Kept: the start of a delimiter split between chunks, and the two bytes before
                # it, which must be CRLF.
                self._tail = window[-(len(self._first) + 1) :]
                self._check_preamble(self._consumed + len(window) - (len(self._first) - 1))
                self._consumed += len(window) - len(self._tail)
                return len(chunk)
            self._check_preamble(self._consumed + index)
            if self._consumed + index > 0 and window[index - 2 : index] != b"\r\n":
                # SPEC: RFC 2046 section 5.1.1, the first delimiter starts the body or follows
                # CRLF. Refused, whatever the chunking, as the multipart library refuses it
                # within one chunk (across chunks it would answer otherwise, losing fields).
                raise FormDataError(
                    "The multipart body's first boundary neither starts the body nor follows a "
                    "CRLF (RFC 2046); end the preamble with CRLF."
                )
            window, offset = window[index:], offset - index
            self._state = "first"
        position = 0
        while True:
            if self._state in ("first", "after"):
                # At a delimiter: "--" closes the body, anything else opens a header section
                # (the library itself refuses what is not CRLF).
                end = len(self._first) + 2 if self._state == "first" else len(self._delimiter) + 2
                if len(window) - position < end:
                    self._tail = window[position:]
                    return len(chunk)
                if window[position + end - 2 : position + end] == b"--":
                    self.done = True
                    return position + end - offset
                position += end
                self._state, self._line, self._previous = "headers", 0, window[position - 1]
            if self._state == "headers":
                found = self._scan_headers(window, position)
                if found is None:
                    return len(chunk)
                if self.error is not None:
                    return found - offset
                position, self._state = found, "body"
            index = window.find(self._delimiter, position)
            if index < 0:
                self._tail = window[max(position, len(window) - len(self._delimiter) + 1) :]
                return len(chunk)
            position, self._state = index, "after"

    def _scan_headers(self, window: bytes, start: int) -> int | None:
        """Follow a header section from ``start``: the position just after its empty line, or
        the position of a bare LF (``error`` set), or None when the window ends first."""
        line_start = start
        position = start
        while True:
            newline = window.find(b"\n", position)
            if newline < 0:
                if len(window) > start:
                    self._line += len(window) - line_start
                    self._previous = window[-1]
                return None
            before = window[newline - 1] if newline > start else self._previous
            if before != 13:  # a bare LF (13 is CR)
                self.error = CONTROL_IN_PART_HEADER
                return newline
            if self._line + newline - line_start == 1:  # only the CR: the empty line
                return newline + 1
            self._line, line_start, position = 0, newline + 1, newline + 1

    def _check_preamble(self, size: int) -> None:
        if size > self._max_preamble:
            raise FormDataError(
                f"The multipart body has more than {self._max_preamble} bytes before its "
                "first boundary."
            )


def is_multipart_boundary(boundary: str) -> bool:
    """Tell whether ``boundary`` is a valid multipart boundary (RFC 2046: 1 to 70 characters
    from ``A-Z a-z 0-9 '()+_,-./:=?`` and space, not ending in a space)."""
    return _BOUNDARY.fullmatch(boundary) is not None
