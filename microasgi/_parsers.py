"""Sans-I/O parsers for request data: cookies, option headers and form bodies.

Pure functions and one small incremental parser over ``str``/``bytes``: no ``receive``, no anyio, no
I/O, so they are tested and fuzzed without an event loop. Every function runs in time linear in its
input. The regular expressions are precompiled, anchored with ``match`` at a known position, and hold
no nested quantifiers, so no input can make them backtrack (no ReDoS); quoted strings are scanned
with ``str.find``-like single steps rather than one clever pattern.
"""

from __future__ import annotations

import codecs
import re
from typing import cast

__all__ = [
    "FieldTooLargeError",
    "FormDataError",
    "InvalidFormEncodingError",
    "MalformedHeaderError",
    "MultipartFrame",
    "TooManyFieldsError",
    "UrlencodedParser",
    "declared_content_length",
    "decode_form_fields",
    "decode_multipart_fields",
    "is_multipart_boundary",
    "json_nesting_exceeds",
    "parse_cookie_header",
    "parse_options_header",
    "text_codec",
    "unquote_form_bytes",
]


class MalformedHeaderError(ValueError):
    """An option header (``Content-Type``, ``Content-Disposition`` ...) does not parse."""


class FormDataError(ValueError):
    """A form body breaks a limit or cannot be decoded."""


class TooManyFieldsError(FormDataError):
    """The form holds more fields than ``max_fields``."""


class FieldTooLargeError(FormDataError):
    """A field name or value is longer than ``max_part_size`` bytes."""


class InvalidFormEncodingError(FormDataError):
    """The form's charset is unknown, or its bytes are not valid in that charset."""


# ---------------------------------------------------------------------------------------------
# Content-Length

_HUGE = 1 << 64  # stands for any Content-Length of more than 19 digits


def declared_content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The ``Content-Length`` of raw ASGI headers: ``-1`` when absent, ``None`` when malformed."""
    found = -1
    for name, value in headers:
        if name != b"content-length":
            continue
        # SPEC: RFC 9110 section 8.6, a list of identical values ("5, 5") is one length.
        for item in value.split(b","):
            item = item.strip()
            if not item.isdigit():  # bytes.isdigit: ASCII digits only
                return None
            # SECURITY: int() of a huge digit string is slow; past 19 digits it is too large.
            length = int(item) if len(item) <= 19 else _HUGE
            if found not in (-1, length):
                return None
            found = length
    return found


# ---------------------------------------------------------------------------------------------
# Percent-decoding

_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
# Every spelling of every escape ("%e9", "%E9", "%e9" ...), mapped to its byte.
_ESCAPES = {
    b"%" + bytes([hi, lo]): bytes([int(bytes([hi, lo]), 16)])
    for hi in b"0123456789abcdefABCDEF"
    for lo in b"0123456789abcdefABCDEF"
}


def _percent_decode(raw: bytes) -> bytes:
    # PERF/SECURITY: ``urllib.parse.unquote_to_bytes`` raises and catches a KeyError for each "%"
    # not followed by two hex digits, about 1 second per megabyte of "%%%%"; this costs 1/30 of it.
    if b"%" not in raw:
        return raw
    return _PERCENT.sub(lambda match: _ESCAPES[match.group()], raw)


# ---------------------------------------------------------------------------------------------
# Cookies

# SECURITY: C0 controls (except HTAB, which is stripped as whitespace at the edges) and DEL never
# belong in a cookie; a pair holding one is dropped rather than handed to the application.
_COOKIE_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The escapes of Python's ``http.cookies`` quoting (octal ``\ooo`` or ``\x`` for any x): what
# ``SimpleCookie`` and therefore ``Response.set_cookie`` write for non-ASCII values.
_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _cookie_escape(match: re.Match[str]) -> str:
    octal = match.group(1)
    return chr(int(octal, 8)) if octal else match.group(2)


def parse_cookie_header(value: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into a dict of names to values, leniently, as browsers do.

    The header is split on ``;``; each pair is split on its first ``=`` and stripped of spaces and
    tabs. Quoted values are unquoted (Python ``http.cookies`` escapes included). Following
    Starlette (and Django), a pair without ``=`` is a value with the empty name, and when a name
    repeats the **last** occurrence wins. A malformed pair (one holding a control character) is
    skipped on its own: the good pairs around it are kept, unlike ``http.cookies.SimpleCookie``,
    which drops everything after the first bad pair.

    Args:
        value: the header value, decoded as latin-1. To merge several ``cookie`` headers (HTTP/2
            sends one per cookie), join them with ``"; "`` first.

    Returns:
        The cookies, in header order.
    """
    cookies: dict[str, str] = {}
    # PERF: one C-level scan of the header; the per-pair control check runs only when needed.
    check_controls = not value.isprintable()
    for chunk in value.split(";"):
        name, sep, val = chunk.partition("=")
        if not sep:
            # A bare value: Mozilla bug 169091, kept under the empty name as browsers do.
            name, val = "", name
        name = name.strip(" \t")
        val = val.strip(" \t")
        if not (name or val):
            continue
        if check_controls and (_COOKIE_CTL.search(name) or _COOKIE_CTL.search(val)):
            continue
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
            if "\\" in val:
                val = _COOKIE_ESCAPE.sub(_cookie_escape, val)
        cookies[name] = val
    return cookies


# ---------------------------------------------------------------------------------------------
# Option headers: Content-Type, Content-Disposition

# SPEC: RFC 9110 section 5.6.2, token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OWS = re.compile(r"[ \t]*")
_SKIP = re.compile(r"[ \t;]*")
# Everything up to the next separator, for lenient unquoted values; one character class, linear.
_UNQUOTED = re.compile(r"[^;\"]*")
# The run of a quoted string up to its next quote or backslash.
_QUOTED_RUN = re.compile(r"[^\"\\]*")
# SPEC: RFC 8187 section 3.2, ext-value = charset "'" [ language ] "'" value-chars.
_EXT_VALUE = re.compile(r"([!#$%&+\-^_`{}~0-9A-Za-z]+)'[^']*'(.*)", re.DOTALL)
# RFC 8187 requires UTF-8 and ISO-8859-1 and lets us refuse the rest, which we do: an unknown or
# exotic codec named by a client is not a door we open.
_EXT_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}


def _run(pattern: re.Pattern[str], value: str, pos: int) -> re.Match[str]:
    # Only for patterns that match the empty string, so the match always exists.
    return cast("re.Match[str]", pattern.match(value, pos))


def _scan_quoted(value: str, pos: int) -> tuple[str, int]:
    """Read the quoted string opening at ``value[pos]``; return its text and the end position."""
    parts: list[str] = []
    pos += 1
    end = len(value)
    while True:
        run = _run(_QUOTED_RUN, value, pos)
        parts.append(run.group())
        pos = run.end()
        if pos >= end or (value[pos] == "\\" and pos + 1 >= end):
            break
        if value[pos] == '"':
            return "".join(parts), pos + 1
        parts.append(value[pos + 1])  # SPEC: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        pos += 2
    raise MalformedHeaderError(f"Unbalanced quotes in header value {_clip(value)!r}.")


def _decode_ext_value(name: str, raw: str, header: str) -> str:
    match = _EXT_VALUE.fullmatch(raw)
    if match is None:
        raise MalformedHeaderError(
            f"Parameter {name!r} in {_clip(header)!r} must be an RFC 8187 extended value "
            "such as UTF-8''na%C3%AFve.txt."
        )
    charset = _EXT_CHARSETS.get(match.group(1).lower())
    if charset is None:
        raise MalformedHeaderError(
            f"Parameter {name!r} in {_clip(header)!r} uses charset {match.group(1)!r}; "
            "only UTF-8 and ISO-8859-1 are accepted."
        )
    try:
        return _percent_decode(match.group(2).encode("utf-8", "surrogatepass")).decode(charset)
    except UnicodeDecodeError:
        raise MalformedHeaderError(
            f"Parameter {name!r} in {_clip(header)!r} is not valid {match.group(1)}."
        ) from None


def _clip(value: str) -> str:
    # SECURITY: error messages echo the bad value, but never megabytes of it.
    return value if len(value) <= 100 else value[:100] + "..."


def parse_options_header(value: str, *, require_subtype: bool = True) -> tuple[str, dict[str, str]]:
    """Split a header such as ``Content-Type`` into its lowercased value and its parameters.

    ``'Text/HTML; Charset="utf-8"'`` gives ``("text/html", {"charset": "utf-8"})``. Parameter
    names are lowercased; values may be tokens or quoted strings (backslash escapes resolved). An
    RFC 8187 extended parameter such as ``filename*=UTF-8''na%C3%AFve.txt`` is decoded and stored
    under its plain name (``filename``), replacing the plain parameter, as RFC 6266 asks. RFC 2231
    continuations (``name*0=``) are not joined: RFC 8187 removed them from HTTP. Empty parameters
    (``a/b;;c=d``) and parameters without ``=`` are ignored.

    Args:
        value: the header value.
        require_subtype: when true (for media types), the first item must be ``type/subtype``;
            set it to false for headers such as ``Content-Disposition: form-data; name="f"``.

    Returns:
        ``(value, params)``.

    Raises:
        MalformedHeaderError: the value is empty or not a token (or not ``type/subtype``), a
            quote is unbalanced, a parameter name is not a token or repeats, or an extended value
            is malformed.
    """
    head, _, _ = value.partition(";")
    pos = len(head) + 1
    main = head.strip(" \t").lower()
    kind, slash, subtype = main.partition("/")
    tokens_ok = _TOKEN.fullmatch(kind) is not None and (
        _TOKEN.fullmatch(subtype) is not None if slash else not require_subtype
    )
    if not tokens_ok:
        wanted = "a media type such as 'text/plain'" if require_subtype else "a token"
        raise MalformedHeaderError(
            f"Malformed header value {_clip(value)!r}: it must start with {wanted}."
        )
    params: dict[str, str] = {}
    end = len(value)
    while True:
        # PERF: empty parameters (";;;") are skipped by one regex step, not one loop turn each.
        pos = _run(_SKIP, value, pos).end()
        if pos >= end:
            break
        name_match = _TOKEN.match(value, pos)
        name_end = name_match.end() if name_match else pos
        after = _run(_OWS, value, name_end).end()
        if after >= end or value[after] == ";":
            pos = after + 1  # an empty parameter, or a name without "=": ignored
            continue
        if name_match is None or value[after] != "=":
            raise MalformedHeaderError(
                f"Malformed parameter at position {pos} of {_clip(value)!r}: expected a "
                "name=value pair."
            )
        name = name_match.group().lower()
        pos = _run(_OWS, value, after + 1).end()
        if pos < end and value[pos] == '"':
            param, pos = _scan_quoted(value, pos)
        else:
            run = _run(_UNQUOTED, value, pos)
            pos = run.end()
            param = run.group().rstrip(" \t")
        pos = _run(_OWS, value, pos).end()
        if pos < end and value[pos] != ";":
            raise MalformedHeaderError(
                f"Unexpected character {value[pos]!r} after parameter {name!r} in {_clip(value)!r}."
            )
        pos += 1
        if name in params:
            # SECURITY: two boundaries or two charsets are a smuggling attempt or a bug; RFC 6838
            # section 4.3 makes a repeated parameter an error.
            raise MalformedHeaderError(f"Parameter {name!r} repeats in {_clip(value)!r}.")
        params[name] = param
    for name in [n for n in params if n.endswith("*")]:
        params[name[:-1]] = _decode_ext_value(name, params.pop(name), value)
    return main, params


# ---------------------------------------------------------------------------------------------
# application/x-www-form-urlencoded


def unquote_form_bytes(raw: bytes) -> bytes:
    """Decode one urlencoded name or value: ``+`` is a space, ``%XX`` a byte.

    A ``%`` not followed by two hex digits stays as it is, as the WHATWG URL standard says.
    """
    return _percent_decode(raw.replace(b"+", b" "))


class UrlencodedParser:
    """Incremental parser of an ``application/x-www-form-urlencoded`` body, with limits.

    Feed it the body chunk by chunk; each call returns the fields completed by that chunk as
    ``(name, value)`` pairs of percent-decoded bytes. The limits are checked on every chunk, on the
    data seen so far, so a hostile body is refused before it is buffered. ``&`` is the only
    separator (``;`` is data, as in the WHATWG URL standard); empty fields (``a=1&&b=2``) are
    skipped; a field without ``=`` has the empty value.

    Args:
        max_fields: the most fields the body may hold.
        max_part_size: the longest field name, and the longest field value, in bytes as sent
            (still percent-encoded).

    Raises:
        TooManyFieldsError: from ``feed``/``close``, on field number ``max_fields + 1``.
        FieldTooLargeError: from ``feed``/``close``, as soon as a name or value passes the limit.
    """

    __slots__ = ("_buffer", "_count", "_equals", "_max_fields", "_max_part_size")

    def __init__(self, *, max_fields: int | float, max_part_size: int) -> None:
        self._max_fields = max_fields
        self._max_part_size = max_part_size
        self._buffer = bytearray()
        # PERF: where the current field's "=" sits, found once per chunk, never by rescanning the
        # buffer, so a field streamed one byte at a time still costs linear time.
        self._equals = -1
        self._count = 0

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Parse the next chunk of the body and return the fields it completed."""
        fields: list[tuple[bytes, bytes]] = []
        start = 0
        if self._buffer:
            # The field the previous chunk ended in continues here, up to the first "&".
            amp = data.find(b"&")
            self._append(data, 0, len(data) if amp < 0 else amp)
            if amp < 0:
                return fields
            self._finish(fields)
            start = amp + 1
        last = data.rfind(b"&")
        if last >= start:
            # PERF: the fields wholly inside this chunk (a small form's every field) are cut out
            # of it directly, with no copy through the buffer, and decoded in one loop.
            self._fields(data[start:last].split(b"&"), fields)
            start = last + 1
        self._append(data, start, len(data))
        return fields

    def _fields(self, pieces: list[bytes], fields: list[tuple[bytes, bytes]]) -> None:
        """Decode whole fields; the limits are those ``_append`` checks on a partial one."""
        limit = self._max_part_size
        count = self._count
        try:
            for piece in pieces:
                if not piece:
                    continue  # an empty field (a=1&&b=2) is skipped
                if count >= self._max_fields:
                    raise TooManyFieldsError(
                        f"Too many fields in the form: the limit is {self._max_fields}."
                    )
                name, _, value = piece.partition(b"=")
                if len(name) > limit or len(value) > limit:
                    what = "name" if len(name) > limit else "value"
                    raise FieldTooLargeError(
                        f"A form field {what} is larger than the limit of {limit} bytes."
                    )
                # PERF: unquote_form_bytes, inlined: two calls per field were a third of the parse.
                name = name.replace(b"+", b" ")
                if b"%" in name:
                    name = _percent_decode(name)
                value = value.replace(b"+", b" ")
                if b"%" in value:
                    value = _percent_decode(value)
                fields.append((name, value))
                count += 1
        finally:
            self._count = count

    def close(self) -> list[tuple[bytes, bytes]]:
        """Signal the end of the body and return the last field, if any."""
        fields: list[tuple[bytes, bytes]] = []
        self._finish(fields)
        return fields

    def _append(self, data: bytes, start: int, stop: int) -> None:
        if start == stop:
            return
        if not self._buffer and self._count >= self._max_fields:
            raise TooManyFieldsError(
                f"Too many fields in the form: the limit is {self._max_fields}."
            )
        if self._equals < 0:
            equals = data.find(b"=", start, stop)
            if equals >= 0:
                self._equals = len(self._buffer) + equals - start
        self._buffer += data[start:stop]
        name_size = self._equals if self._equals >= 0 else len(self._buffer)
        value_size = len(self._buffer) - self._equals - 1 if self._equals >= 0 else 0
        if max(name_size, value_size) > self._max_part_size:
            what = "name" if name_size > self._max_part_size else "value"
            raise FieldTooLargeError(
                f"A form field {what} is larger than the limit of {self._max_part_size} bytes."
            )

    def _finish(self, fields: list[tuple[bytes, bytes]]) -> None:
        if not self._buffer:
            return
        raw = bytes(self._buffer)
        if self._equals >= 0:
            name, value = raw[: self._equals], raw[self._equals + 1 :]
        else:
            name, value = raw, b""
        fields.append((unquote_form_bytes(name), unquote_form_bytes(value)))
        self._count += 1
        self._buffer.clear()
        self._equals = -1


# SECURITY: text codecs that are not charsets a browser would send. UTF-7 smuggles markup past
# filters; the escape codecs turn data into arbitrary code points; punycode decoding is slow on
# long input.
_REFUSED_CODECS = frozenset(
    {"idna", "punycode", "raw-unicode-escape", "undefined", "unicode-escape", "utf-7"}
)


def text_codec(charset: str) -> str:
    """Return the codec name for a form charset, refusing what is not a text encoding.

    Raises:
        InvalidFormEncodingError: the charset is unknown, a bytes-to-bytes codec (``base64``,
            ``rot13`` ...) or a hazardous one (``utf-7``, the escape codecs, ``punycode``).
    """
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        info = None
    # ``_is_text_encoding`` is how ``bytes.decode`` itself refuses base64, zlib, rot13 ...
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        raise InvalidFormEncodingError(
            f"Unsupported form charset {_clip(charset)!r}; use a text encoding such as 'utf-8'."
        )
    return info.name


def _charset_field(value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidFormEncodingError(
            f"The _charset_ field {_clip(repr(value))} is not an ASCII charset name."
        ) from None


def decode_form_fields(
    fields: list[tuple[bytes, bytes]], charset: str = "utf-8"
) -> list[tuple[str, str]]:
    """Decode percent-decoded form fields to text.

    The charset is ``charset`` (from the ``Content-Type``, UTF-8 by default) unless the form holds
    a ``_charset_`` field, whose value then names it (HTML's rule for urlencoded forms).

    Raises:
        InvalidFormEncodingError: the charset is unknown or not a text encoding, or a name or
            value is not valid in it.
    """
    for name, value in fields:
        if name == b"_charset_":
            charset = _charset_field(value)
            break
    codec = text_codec(charset)
    try:
        return [(name.decode(codec), value.decode(codec)) for name, value in fields]
    except UnicodeDecodeError as exc:
        raise InvalidFormEncodingError(
            f"The form is not valid {charset}: {exc.reason} at byte {exc.start} of a field."
        ) from None


def decode_multipart_fields(
    fields: list[tuple[str, bytes, str | None]], charset: str = "utf-8"
) -> list[str]:
    """Decode the values of the text fields of a multipart form, in order.

    Each value is decoded with the ``charset`` of its part's ``Content-Type`` when it has one;
    otherwise with the form's default charset: the value of a ``_charset_`` field if the form holds
    one (RFC 7578 section 4.6, HTML's rule), else ``charset`` (from the request's
    ``Content-Type``, UTF-8 by default).

    A charset that is unknown, not a text encoding or one refused as hazardous (``utf-7``, the
    escape codecs), and a value that is not valid in its charset, are decoded as latin-1
    instead, as Starlette does: every byte is a latin-1 character, so a form from a client that
    got its encoding wrong still arrives, byte for byte, and never as a 400.

    Args:
        fields: ``(name, value, part_charset)`` for each text field; names are already text
            (they come from the part headers).
        charset: the default charset.
    """
    for name, value, _ in fields:
        if name == "_charset_":
            charset = value.decode("latin-1")
            break
    default = _codec_or_latin1(charset)
    values: list[str] = []
    for _, value, part_charset in fields:
        codec = default if part_charset is None else _codec_or_latin1(part_charset)
        try:
            values.append(value.decode(codec))
        except UnicodeDecodeError:
            values.append(value.decode("latin-1"))
    return values


def _codec_or_latin1(charset: str) -> str:
    try:
        return text_codec(charset)
    except InvalidFormEncodingError:
        return "latin-1"


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


# An escape (backslash and the next byte), a JSON string once escapes are gone, and every byte
# that is not a bracket: what is left of a body once all three are removed is its bracket
# structure. Neither pattern has a group, so both run in linear time.
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """Tell whether the JSON text ``body`` nests arrays and objects deeper than ``limit``.

    Linear in the body and independent of the interpreter's recursion limit (which a test runner
    or an app may have raised, letting ``json.loads`` go deep enough to exhaust the C stack).
    Brackets inside strings do not count. (For UTF-16 and UTF-32 bodies the count is rougher, and
    the parser's own recursion guard stays behind it.)
    """
    # PERF: the depth cannot pass the number of opening brackets, counted at C speed.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    structure = _JSON_STRING.sub(b"", _JSON_ESCAPE.sub(b"", body)).translate(None, _NOT_BRACKETS)
    for byte in structure:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
