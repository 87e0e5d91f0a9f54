"""Form body parsers: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Both read the body chunk by chunk, as it arrives, and check their limits on every chunk, so a
hostile form is refused before it is buffered. Errors are ``MultiPartException`` (Starlette's
name for every form error), which ``Request.form()`` turns into an ``HTTPException``.
``FormLimits`` gathers the limits; an application sets its own defaults by putting one in
``scope[FORM_LIMITS_KEY]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from enum import Enum

from typing_extensions import deprecated

from microasgi._asgi.forms import (
    _MAX_FIELDS_MEMORY,
    _MAX_FILE_SIZE,
    _MAX_PART_HEADER_SIZE,
    _MIB,
    FormLimits,
    MultiPartException,
    _check_limit,
    multipart_options,
    read_multipart,
    read_urlencoded,
)
from microasgi._asgi.upload import FormData
from microasgi._sansio.options import MalformedHeaderError, parse_options_header
from microasgi.exceptions import StarletteDeprecationWarning

__all__ = ["FORM_LIMITS_KEY", "FormLimits", "FormParser", "MultiPartException", "MultiPartParser"]

FORM_LIMITS_KEY = "microasgi.form_limits"
"""The scope key holding a ``FormLimits``: the defaults ``Request.form()`` uses for the request,
which its keyword arguments override one by one. A middleware sets it (copy the scope first)."""

# The public home of these names is this module: docs, reprs and error messages name it.
for _public in (FormLimits, MultiPartException):
    _public.__module__ = __name__
del _public


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
        return await read_urlencoded(
            self._stream, params.get("charset", "utf-8"), self._max_fields, self._max_part_size
        )


class MultiPartParser:
    """Parse a ``multipart/form-data`` body into ``FormData``, streaming, on the ``multipart``
    package's ``PushMultipartParser``.

    Text fields become ``str``; parts with a ``filename`` become ``UploadFile`` objects, kept in
    memory while all the form's files together hold at most ``spool_max_size`` bytes and
    written to temporary files on disk past that (in worker threads: the event loop never
    blocks on the disk). Every limit is checked on each chunk as it arrives. Field values are
    decoded with their part's ``charset``, else the ``_charset_`` field's value, else the
    request's ``charset``, else UTF-8. On any error every file read so far is closed (deleted);
    on success, closing the form is the caller's job (``Request.form()`` does it for you).

    Args:
        headers: the request headers; ``content-type`` gives the boundary (and a charset).
        stream: the body, as an async iterable of byte chunks (``request.stream()``).
        max_files: see ``FormLimits``; past it, 400.
        max_fields: see ``FormLimits``; past it, 400.
        max_part_size: the largest text field value; past it, 413.
        max_file_size: the largest file; past it, 413.
        max_fields_memory: the most bytes of text fields and part headers held; past it, 413.
        max_part_header_size: the longest part header line; past it, 400.
        spool_max_size: the most bytes of file data held in memory; ``None`` for the class
            attribute ``spool_max_size``.

    Raises:
        ValueError: a limit is not an int >= 0 (or ``math.inf`` for the counts).
    """

    spool_max_size: int = _MIB
    """The default for ``spool_max_size``, as in Starlette (1 MiB)."""

    __slots__ = ("_headers", "_limits", "_stream")

    def __init__(
        self,
        headers: Mapping[str, str],
        stream: AsyncIterable[bytes],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = _MIB,
        max_file_size: int = _MAX_FILE_SIZE,
        max_fields_memory: int = _MAX_FIELDS_MEMORY,
        max_part_header_size: int = _MAX_PART_HEADER_SIZE,
        spool_max_size: int | None = None,
    ) -> None:
        self._headers = headers
        self._stream = stream
        self._limits = FormLimits(
            max_files=max_files,
            max_fields=max_fields,
            max_part_size=max_part_size,
            max_file_size=max_file_size,
            max_fields_memory=max_fields_memory,
            max_part_header_size=max_part_header_size,
            spool_max_size=spool_max_size,
        )

    async def parse(self) -> FormData:
        """Read the whole stream and return the form.

        Raises:
            MultiPartException: a malformed ``Content-Type`` or body (400: a bad or missing
                boundary, a truncated body, a part without headers, a name or a valid
                ``Content-Disposition``, a part header too long, an unknown charset or bytes
                invalid in it), too many fields or files (400), a field, a file or the fields
                in memory over their limit (413).
        """
        try:
            _, params = parse_options_header(self._headers.get("content-type", ""))
        except MalformedHeaderError as exc:
            raise MultiPartException(str(exc)) from None
        boundary, charset = multipart_options(params)
        limits = self._limits
        spool = self.spool_max_size if limits.spool_max_size is None else limits.spool_max_size
        return await read_multipart(self._stream, boundary, charset, limits, spool)


@deprecated(
    "`FormMessage` is deprecated and will be removed in a future version.",
    category=StarletteDeprecationWarning,
    stacklevel=2,
)
class FormMessage(Enum):
    """Deprecated, as in Starlette (whose old urlencoded parser's callbacks it named); kept so
    code importing it still runs. Calling it warns ``StarletteDeprecationWarning`` with
    Starlette's text. Not in ``__all__``: nothing here uses it."""

    FIELD_START = 1
    FIELD_NAME = 2
    FIELD_DATA = 3
    FIELD_END = 4
    END = 5
