"""``Accept`` (RFC 9110 section 12.5.1): does a request accept a given media type? Sans-I/O.

One question only, asked by ``StaticFiles`` before it answers a miss with a single-page app's
HTML: would the client take ``text/html``? The most specific media range that matches decides
(``text/html`` over ``text/*`` over ``*/*``), so ``*/*, text/html;q=0`` refuses HTML; ``q=0``
means "not acceptable"; a range listed twice keeps its lowest weight; elements that are not a
``type/subtype`` or carry an invalid ``q`` are ignored, as ``encoding`` ignores them. Media type
parameters (``text/html;level=1``) do not make a range more specific here.
"""

from __future__ import annotations

from microasgi._sansio.encoding import MAX_HEADER_LENGTH, _parse_qvalue

__all__ = ["accepts"]


def accepts(value: str, media_type: str) -> bool:
    """Return whether the ``Accept`` field ``value`` accepts ``media_type`` (``"text/html"``).

    ``media_type`` is lowercase ``type/subtype``. The caller decides what a missing field means
    (RFC 9110: anything is acceptable).
    """
    wanted_type = media_type.partition("/")[0]
    best, weight = -1, 0.0
    # SECURITY: a hostile value is judged on its first part only (see encoding).
    for element in value[:MAX_HEADER_LENGTH].split(","):
        media, *params = element.split(";")
        main, slash, sub = media.strip().lower().partition("/")
        if not slash:
            continue
        if f"{main}/{sub}" == media_type:
            specificity = 2
        elif sub == "*" and main in (wanted_type, "*"):
            specificity = 1 if main == wanted_type else 0
        else:
            continue
        q: float | None = 1.0
        for param in params:
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                q = _parse_qvalue(raw.strip())
                break  # SPEC: parameters after q are accept-ext, not the media type's.
        if q is None:
            continue
        if specificity > best:
            best, weight = specificity, q
        elif specificity == best:
            weight = min(weight, q)
    return weight > 0
