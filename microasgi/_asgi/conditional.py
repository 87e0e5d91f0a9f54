"""Conditional responses for content an endpoint builds (public in ``microasgi.responses``).

``FileResponse`` answers ``If-None-Match``, ``If-Modified-Since``, ``If-Match`` and
``If-Unmodified-Since`` for files by itself. These two functions give the same answers, with the
same parsers and the same RFC 9110 section 13.2.2 evaluation (``microasgi._sansio.ranges``), for
any other response: ``conditional_response`` for a response already built, and
``precondition_response`` to answer before building it when the validators are cheaper to get
than the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from microasgi._asgi.connection import HTTPConnection
from microasgi._asgi.response import Response
from microasgi._sansio.headers import encode_header_name, encode_header_value
from microasgi._sansio.ranges import (
    RequestConditions,
    body_etag,
    entity_tag,
    evaluate_preconditions,
    format_http_date,
    http_seconds,
    parse_http_date,
)
from microasgi.background import BackgroundTask

__all__ = ["conditional_response", "precondition_response"]

# SPEC: RFC 9110 15.4.5, the fields of the 200 that a 304 sends again. Last-Modified too: it
# guides cache updates (the RFC's own example). Set-Cookie is no representation metadata: it is
# kept on a 304 and a 412, as a proxy must pass it on (RFC 6265 section 3).
_NOT_MODIFIED_FIELDS = frozenset(
    {
        b"cache-control",
        b"content-location",
        b"date",
        b"etag",
        b"expires",
        b"last-modified",
        b"set-cookie",
        b"vary",
    }
)
_Raw = list[tuple[bytes, bytes]]


def conditional_response(
    request: HTTPConnection,
    response: Response,
    *,
    etag: str | None = None,
    last_modified: datetime | float | None = None,
    weak: bool = False,
) -> Response:
    """Return ``response`` with its validators, or the 304 or 412 the request's conditions ask.

    The response gets an ``ETag``: ``etag`` when given (``"v1"``, ``W/"v1"`` or a bare ``v1``,
    quoted for you), else the one in its headers, else a hash of its body. ``last_modified`` (an
    aware ``datetime`` or a Unix timestamp) becomes ``Last-Modified``. Then the request's
    ``If-Match`` / ``If-Unmodified-Since`` (412) and ``If-None-Match`` / ``If-Modified-Since``
    (304 on GET and HEAD, 412 on other methods) are applied in RFC 9110 order: strong comparison
    for ``If-Match``, weak for ``If-None-Match``, the date fields only without their tag field.

    A 304 keeps the fields RFC 9110 section 15.4.5 lists (``ETag``, ``Cache-Control``,
    ``Content-Location``, ``Date``, ``Expires``, ``Vary``), ``Last-Modified`` and
    ``Set-Cookie``; a 412 keeps ``Set-Cookie``. Both have no body and run ``response``'s
    background task. Only a 2xx response is made conditional (RFC 9110 section 13.2.1); any other
    comes back as it is.

    Args:
        request: the request (or any ``HTTPConnection``) whose headers hold the conditions.
        response: the response the endpoint would send without conditions.
        etag: the entity-tag, when the endpoint knows a version cheaper than hashing the body.
        last_modified: when the content last changed; compared in whole seconds.
        weak: mark the computed or given ``etag`` weak (``W/``): equal in meaning, not in bytes.

    Raises:
        ValueError: ``etag`` is not an entity-tag, or ``last_modified`` a naive ``datetime``.
        TypeError: the response has no body to hash (a ``StreamingResponse``) and no ``ETag``
            or ``Last-Modified`` was given.
    """
    status = response.status_code
    # SPEC: RFC 9110 13.2.1, conditions are ignored when the answer would not be a 2xx.
    if not 200 <= status < 300:
        return response
    raw = response.raw_headers
    seconds: int | None = None
    if last_modified is not None:
        seconds = http_seconds(last_modified)
        raw = _replace(raw, b"last-modified", format_http_date(seconds))
    else:
        given = _field(raw, b"last-modified")
        seconds = None if given is None else parse_http_date(given)
    tag = _field(raw, b"etag") if etag is None else entity_tag(etag, weak=weak)
    if tag is None:
        body = getattr(response, "body", None)
        if body is not None:
            tag = body_etag(body, weak=weak)
        elif seconds is None:
            raise TypeError(
                f"conditional_response cannot compute an ETag for a {type(response).__name__}, "
                "which has no body to hash. Pass etag= (a version of the content) or "
                "last_modified=."
            )
    if tag is not None:
        raw = _replace(raw, b"etag", tag)
    response.raw_headers = raw
    scope = request.scope
    conditions = RequestConditions.from_headers(scope["headers"])
    if not conditions:
        return response  # PERF: the common case, a request without conditions.
    answer = evaluate_preconditions(conditions, scope.get("method", "GET"), tag, seconds)
    if answer is None:
        return response
    return _refusal(answer, raw, response.background)


def precondition_response(
    request: HTTPConnection,
    *,
    etag: str | None = None,
    last_modified: datetime | float | None = None,
    weak: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Response | None:
    """Return the 304 or 412 the request's conditions ask for, or None to build the response.

    For content whose version is cheaper to get than the content itself: the endpoint asks
    first, returns the answer when there is one, and otherwise builds the response (and passes
    the same validators to ``conditional_response`` so the client receives them). Conditions are
    evaluated as ``conditional_response`` does.

    Args:
        request: the request (or any ``HTTPConnection``) whose headers hold the conditions.
        etag: the entity-tag of the current content (``"v1"``, ``W/"v1"`` or a bare ``v1``).
        last_modified: when the content last changed (an aware ``datetime`` or a timestamp).
        weak: mark ``etag`` weak.
        headers: headers the full response would carry; a 304 keeps the ones it may
            (``Cache-Control``, ``Vary`` ...), a 412 only ``Set-Cookie``.

    Raises:
        ValueError: neither ``etag`` nor ``last_modified`` was given, ``etag`` is not an
            entity-tag, or ``last_modified`` is a naive ``datetime``.
    """
    if etag is None and last_modified is None:
        raise ValueError(
            "precondition_response needs the content's validators: pass etag= (a version or "
            "a hash of the content), last_modified=, or both."
        )
    raw: _Raw = [
        (encode_header_name(name), encode_header_value(value, name))
        for name, value in (headers or {}).items()
    ]
    tag = None if etag is None else entity_tag(etag, weak=weak)
    seconds = None if last_modified is None else http_seconds(last_modified)
    scope = request.scope
    conditions = RequestConditions.from_headers(scope["headers"])
    if not conditions:
        return None
    answer = evaluate_preconditions(conditions, scope.get("method", "GET"), tag, seconds)
    if answer is None:
        return None
    if seconds is not None:
        raw = _replace(raw, b"last-modified", format_http_date(seconds))
    if tag is not None:
        raw = _replace(raw, b"etag", tag)
    return _refusal(answer, raw, None)


def _refusal(status: int, raw: _Raw, background: BackgroundTask | None) -> Response:
    """The 304 or 412 answering a request whose 200 would have had the headers ``raw``."""
    response = Response(status_code=status, background=background)
    if status == 304:
        response.raw_headers = [item for item in raw if item[0] in _NOT_MODIFIED_FIELDS]
    else:
        response.raw_headers.extend(item for item in raw if item[0] == b"set-cookie")
    return response


def _field(raw: _Raw, name: bytes) -> str | None:
    for key, value in raw:
        if key == name:
            return value.decode("latin-1")
    return None


def _replace(raw: _Raw, name: bytes, value: str) -> _Raw:
    """``raw`` without any ``name`` field, then ``name: value`` (validated)."""
    kept = [item for item in raw if item[0] != name]
    kept.append((name, encode_header_value(value, name.decode("latin-1"))))
    return kept
