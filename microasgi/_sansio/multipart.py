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
    closing delimiter, alongside a parser that finds where each part's body ends.

    RFC 2046 lets a body hold a preamble before its first delimiter and an epilogue after the
    closing one, both to be ignored. Ignoring them must not mean reading them forever: ``feed``
    refuses a preamble longer than ``max_preamble`` bytes, and ``done`` turns true at the closing
    delimiter, so the reader stops there. The frame also finds a bare LF in a part's header
    section, which the multipart library accepts or refuses depending on where the chunks end:
    it stops the parser just before it and sets ``error``. Every answer depends on the bytes
    alone, never on how they were split into chunks.

    The frame reads the preamble and the header sections; it never scans a part's body. The
    parser finds where a body ends (a delimiter, checked by the parser) and reports it with
    ``part_end``, before it reads what follows.

    Args:
        boundary: the boundary, from the ``Content-Type``.
        max_preamble: the most bytes allowed before the first delimiter.
    """

    __slots__ = (
        "_body_at",
        "_chunk",
        "_chunk_at",
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
        "unread",
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
        self._chunk = b""  # the chunk last fed
        self._chunk_at = 0  # where that chunk starts in the body
        self._body_at = 0  # where the current part's body starts in the body
        self.done = False  # the closing delimiter was seen
        self.error: str | None = None  # why the body is refused, once the frame stopped for it
        # With ``error`` from ``part_end``: the bytes of the header section before the fault.
        self.unread = b""

    @property
    def body_start(self) -> int | None:
        """Where the body of the part being read starts, counted in bytes from the start of
        the multipart body; ``None`` outside a part's body."""
        return self._body_at if self._state == "body" else None

    def feed(self, chunk: bytes) -> int:
        """Take the next chunk; return how many of its bytes to parse: all of them, or up to the
        end of a closing first delimiter (then ``done`` is true), or up to a bare LF in a header
        section begun in an earlier chunk (then ``error`` says why the body is refused).

        Raises:
            FormDataError: the first delimiter starts more than ``max_preamble`` bytes in, or
                neither at the start of the body nor after CRLF.
        """
        self._chunk_at += len(self._chunk)
        self._chunk = chunk
        if self._state == "body":
            return len(chunk)  # PERF: the parser finds where the part ends; no second scan
        window = self._tail + chunk
        offset = len(self._tail)  # where the chunk starts in the window
        self._tail = b""
        if self._state == "preamble":
            # PERF: a body starts with its first delimiter (no preamble): no search.
            index = 0 if window.startswith(self._first) else window.find(self._first)
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
        if self._state == "first":
            # At the first delimiter: "--" closes the body, anything else opens a header
            # section (the library itself refuses what is not CRLF).
            end = len(self._first) + 2
            if len(window) < end:
                self._tail = window
                return len(chunk)
            if window[end - 2 : end] == b"--":
                self.done = True
                return end - offset
            position = end
            self._state, self._line, self._previous = "headers", 0, window[end - 1]
        found = self._scan_headers(window, position)
        if found is None:
            return len(chunk)
        if self.error is not None:
            return found - offset
        self._state, self._body_at = "body", self._chunk_at + found - offset
        return len(chunk)

    def part_end(self, size: int) -> None:
        """Follow what comes after the part being read, whose body the parser found to end
        after ``size`` bytes, at a delimiter in the chunk last fed, and which it checked: the
        closing delimiter (``done`` turns true) or the next part's header section, read as far
        as the chunk goes. Call it before the parser reads that section.

        A bare LF in the section sets ``error``, and ``unread`` to the bytes of the section
        before it: the parser must read those (an error among them comes first), and nothing
        after them.
        """
        chunk = self._chunk
        # Where the section starts in the chunk: after the delimiter and its CRLF (or "--").
        # The parser saw the delimiter whole, so its last byte lies in this chunk.
        start = self._body_at + size + len(self._delimiter) + 2 - self._chunk_at
        if chunk[start - 1] == 45:  # "-": the closing delimiter
            self.done = True
            return
        self._line, self._previous = 0, 10  # 10 is LF, the end of the delimiter's line
        found = self._scan_headers(chunk, start)
        if found is None:
            self._state = "headers"
        elif self.error is not None:
            self.unread = chunk[start:found]
        else:
            self._body_at = self._chunk_at + found

    def _scan_headers(self, window: bytes, start: int) -> int | None:
        """Follow a header section from ``start``: the position just after its empty line, or
        the position of a bare LF (``error`` set), or None when the window ends first."""
        if self._line == 0 and not window.startswith(b"\r\n", start):
            # PERF: a whole section from the start of a line, in two searches and two counts:
            # its first CRLF CRLF ends it (a section starting with its empty line is left to
            # the loop), when every LF up to there follows a CR (else the loop finds the bare
            # one; an LF first in the window, whose CR would be in an earlier chunk, too).
            end = window.find(b"\r\n\r\n", start) + 4
            if end > 3 and window.count(b"\n", start, end) == window.count(b"\r\n", start, end):
                return end
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
