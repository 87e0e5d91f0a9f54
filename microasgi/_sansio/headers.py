"""Validation and encoding of header names and values on their way to the wire.

Sans-I/O: pure functions over ``str``/``bytes``. Every header that microasgi puts into a response
passes through here, so a value holding CR, LF or NUL can never split a response (header injection).
"""

from __future__ import annotations

import re

# SPEC: RFC 9110 section 5.1, field-name = token; token = 1*tchar.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# SPEC: RFC 9110 section 5.5, field-value = *field-content: VCHAR, obs-text, SP and HTAB. We refuse
# CR, LF and NUL (the injection vectors) and the other C0 controls and DEL, which no peer accepts.
_BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


# PERF: the few header names an app sets, validated once. SECURITY: bounded, so names built from
# client input cannot grow it without limit (past the bound, names are validated every time).
_NAMES: dict[str | bytes, bytes] = {}
_NAMES_MAX = 512


def encode_header_name(name: str | bytes) -> bytes:
    """Return ``name`` lowercased and encoded, or raise ``ValueError`` if it is not an HTTP token."""
    known = _NAMES.get(name)
    if known is not None:
        return known
    raw = name.encode("latin-1", "replace") if isinstance(name, str) else name
    if not _TOKEN.match(raw):
        raise ValueError(
            f"Invalid header name {name!r}: a header name must be a non-empty HTTP token "
            "(letters, digits and !#$%&'*+-.^_`|~), without spaces, colons or control characters."
        )
    raw = raw.lower()
    if len(_NAMES) < _NAMES_MAX:
        _NAMES[name] = raw
    return raw


def encode_header_value(value: object, name: str | bytes = "") -> bytes:
    """Return ``value`` encoded as latin-1, or raise ``ValueError`` if it could split the header.

    ``str`` values must be latin-1 encodable; encode other text yourself (for example with
    ``urllib.parse.quote`` or RFC 8187 ``filename*=``) before setting it. Any other type is a
    ``TypeError`` that says so (typed ``object``, so that the compiled build reaches that check
    rather than refusing the call with mypyc's own message).
    """
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            # PERF: printable ASCII (the usual value) holds no control character: no regex.
            return value.encode("ascii")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"Header {_show(name)} value {value!r} has characters outside latin-1. Percent-encode "
                "it (urllib.parse.quote) or use an RFC 8187 encoded form such as filename*=UTF-8''..."
            ) from None
    elif isinstance(value, bytes):
        raw = value
    else:
        raise TypeError(
            f"Header {_show(name)} value must be str or bytes, got {type(value).__name__}: "
            f"{value!r}. Convert it with str() first."
        )
    # SECURITY: CR/LF/NUL in a value would let a caller inject headers or a whole response.
    if _BAD_VALUE_BYTE.search(raw):
        raise ValueError(
            f"Header {_show(name)} value {value!r} contains a control character (CR, LF, NUL or "
            "another C0 byte). Header values must be a single line; remove or encode the character."
        )
    return raw


def encode_header(name: str | bytes, value: object) -> tuple[bytes, bytes]:
    """Validate and encode one header as the ``(name, value)`` pair ASGI sends."""
    return encode_header_name(name), encode_header_value(value, name)


def _show(name: str | bytes) -> str:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return repr(name) if name else "(unnamed)"
