"""Option headers (``Content-Type``, ``Content-Disposition``): a value and its parameters,
RFC 8187 extended values included.

Pure functions over ``str``/``bytes``: no ``receive``, no anyio, no I/O, tested and fuzzed
without an event loop. Every function runs in time linear in its input; the regular
expressions are anchored and hold no nested quantifiers, so no input makes them backtrack.
"""

from __future__ import annotations

import re
from typing import cast

from microasgi._sansio.text import _clip, _percent_decode

__all__ = ["MalformedHeaderError", "parse_options_header"]


class MalformedHeaderError(ValueError):
    """An option header (``Content-Type``, ``Content-Disposition`` ...) does not parse."""


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
