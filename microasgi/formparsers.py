"""Form body parsers: ``application/x-www-form-urlencoded`` today, multipart in a later release.

``FormParser`` reads the body chunk by chunk, as it arrives, and checks its limits on every chunk,
so a hostile form is refused before it is buffered. Errors are ``MultiPartException`` (Starlette's
name for every form error), which ``Request.form()`` turns into an ``HTTPException``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Mapping

from microasgi._parsers import (
    FieldTooLargeError,
    FormDataError,
    MalformedHeaderError,
    UrlencodedParser,
    decode_form_fields,
    parse_options_header,
)
from microasgi.datastructures import FormData

__all__ = ["FormParser", "MultiPartException"]


class MultiPartException(Exception):
    """A form body is malformed or breaks a limit.

    Args:
        message: what is wrong, in a sentence fit for the client.
        status_code: the HTTP status ``Request.form()`` answers with: 400 for a malformed form or
            too many fields, 413 for a field over ``max_part_size``.
    """

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def _check_limit(name: str, value: float, *, unbounded: bool = False) -> float:
    # Starlette accepts float("inf") for the count limits (no limit); ports keep working.
    if unbounded and value == math.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        also = " or math.inf (no limit)" if unbounded else ""
        raise ValueError(f"{name} must be an int >= 0{also}, got {value!r}.")
    return value


class FormParser:
    """Parse an ``application/x-www-form-urlencoded`` body into ``FormData``.

    ``&`` is the only separator (``;`` is data), ``+`` is a space, and ``%XX`` escapes decode with
    the form's charset: the ``charset`` parameter of the ``Content-Type``, else UTF-8, unless the
    form holds a ``_charset_`` field naming another one. Repeated names are all kept, in order.

    Args:
        headers: the request headers; only ``content-type`` is read, for its charset.
        stream: the body, as an async iterable of byte chunks (``request.stream()``).
        max_fields: the most fields the form may hold (400 beyond it); ``math.inf`` for no limit.
        max_part_size: the longest field name or value, in bytes as sent (413 beyond it).

    Raises:
        ValueError: a limit is not an int >= 0 (or ``math.inf`` for ``max_fields``).
    """

    __slots__ = ("_headers", "_max_fields", "_max_part_size", "_stream")

    def __init__(
        self,
        headers: Mapping[str, str],
        stream: AsyncIterable[bytes],
        *,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self._headers = headers
        self._stream = stream
        self._max_fields = _check_limit("max_fields", max_fields, unbounded=True)
        self._max_part_size = int(_check_limit("max_part_size", max_part_size))

    async def parse(self) -> FormData:
        """Read the whole stream and return the form.

        Raises:
            MultiPartException: a malformed ``Content-Type``, too many fields (400), a field
                name or value over ``max_part_size`` (413), an unknown charset or bytes that are
                not valid in it (400).
        """
        try:
            _, params = parse_options_header(
                self._headers.get("content-type", "application/x-www-form-urlencoded")
            )
        except MalformedHeaderError as exc:
            raise MultiPartException(str(exc)) from None
        parser = UrlencodedParser(max_fields=self._max_fields, max_part_size=self._max_part_size)
        fields: list[tuple[bytes, bytes]] = []
        chunks = aiter(self._stream)
        try:
            async for chunk in chunks:
                fields += parser.feed(chunk)
            fields += parser.close()
            items = decode_form_fields(fields, params.get("charset", "utf-8"))
        except FormDataError as exc:
            status = 413 if isinstance(exc, FieldTooLargeError) else 400
            raise MultiPartException(str(exc), status_code=status) from None
        finally:
            # Stopping early must not leave the body generator to the garbage collector.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        return FormData(items)
