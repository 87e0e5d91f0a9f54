"""Form bodies: the incremental ``application/x-www-form-urlencoded`` parser, and the
decoding of form fields (urlencoded and multipart) to text by their charset.

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import codecs

from microasgi._sansio.text import _clip, _percent_decode

__all__ = [
    "FieldTooLargeError",
    "FormDataError",
    "InvalidFormEncodingError",
    "TooManyFieldsError",
    "UrlencodedParser",
    "decode_form_fields",
    "decode_multipart_fields",
    "parse_utf8_form",
    "size_text",
    "text_codec",
    "too_many_fields",
    "unquote_form_bytes",
]


class FormDataError(ValueError):
    """A form body breaks a limit or cannot be decoded."""


class TooManyFieldsError(FormDataError):
    """The form holds more fields than ``max_fields``."""


class FieldTooLargeError(FormDataError):
    """A field name or value is longer than ``max_part_size`` bytes."""


class InvalidFormEncodingError(FormDataError):
    """The form's charset is unknown, or its bytes are not valid in that charset."""


# The form errors clients see read as Starlette's (its formparsers'), which ported tests compare.


def size_text(limit: int) -> str:
    """A size limit as Starlette's form errors write it (``1024KB``); in bytes when it is not a
    whole number of KiB, which Starlette rounds down (1000 bytes would read ``0KB``)."""
    return f"{limit // 1024}KB" if limit % 1024 == 0 else f"{limit} bytes"


def too_many_fields(limit: float) -> str:
    """Starlette's text for a form over ``max_fields``."""
    return f"Too many fields. Maximum number of fields is {limit}."


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
                    raise TooManyFieldsError(too_many_fields(self._max_fields))
                name, _, value = piece.partition(b"=")
                if len(name) > limit or len(value) > limit:
                    raise FieldTooLargeError(f"Field exceeded maximum size of {size_text(limit)}.")
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
            raise TooManyFieldsError(too_many_fields(self._max_fields))
        if self._equals < 0:
            equals = data.find(b"=", start, stop)
            if equals >= 0:
                self._equals = len(self._buffer) + equals - start
        self._buffer += data[start:stop]
        name_size = self._equals if self._equals >= 0 else len(self._buffer)
        value_size = len(self._buffer) - self._equals - 1 if self._equals >= 0 else 0
        if max(name_size, value_size) > self._max_part_size:
            raise FieldTooLargeError(
                f"Field exceeded maximum size of {size_text(self._max_part_size)}."
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


def _unquote_utf8(text: str) -> str:
    return text if "%" not in text else _percent_decode(text.encode()).decode()


def parse_utf8_form(body: bytes) -> list[tuple[str, str]] | None:
    """Parse a whole urlencoded UTF-8 body straight to text, or return ``None``.

    The fields are those ``UrlencodedParser`` and then ``decode_form_fields(fields, "utf-8")``
    give, found with a few calls over the whole text instead of a few per field. ``None`` leaves
    the body to that path, which words the error: for a body that is not valid UTF-8 (before or
    after its escapes are decoded), and for one holding a ``_charset_`` field, which may name
    another charset. No limit is checked: the caller makes sure none can be reached.
    """
    try:
        text = body.decode()
        if "+" in text:
            text = text.replace("+", " ")
        fields = [field.partition("=")[::2] for field in text.split("&") if field]
        if "%" in text:
            fields = [(_unquote_utf8(name), _unquote_utf8(value)) for name, value in fields]
    except UnicodeDecodeError:
        return None
    if "_charset_" in text or "%" in text:
        for name, _ in fields:
            if name == "_charset_":
                return None
    return fields


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
    if charset == "utf-8":
        return charset  # PERF: the usual charset, whose codec is named so: no lookup
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
