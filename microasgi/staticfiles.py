"""Static files: an ASGI app that serves the files of directories and packages.

``StaticFiles`` keeps Starlette's signature and behaviour. It never serves anything outside its
directories: the request path is checked segment by segment (no ``..``, backslash, NUL or drive
letter, whatever encoding carried them), then the file's real path must lie inside a directory's
real path (symlinks included, unless ``follow_symlink=True``). Every file system call runs in a
worker thread.
"""

from __future__ import annotations

import importlib.util
import ntpath
import os
import stat
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import quote

import anyio.to_thread

from microasgi._asgi.fileresponse import FileResponse
from microasgi._sansio.accept import accepts
from microasgi._sansio.scope import decode_query_string, full_path, route_path
from microasgi.datastructures import Headers
from microasgi.exceptions import HTTPException
from microasgi.responses import RedirectResponse, Response
from microasgi.types import Receive, Scope, Send

__all__ = ["NotModifiedResponse", "StaticFiles"]

PathLike = str | os.PathLike[str]
_Found = tuple[str, os.stat_result]
# SPEC: RFC 3986 3.3, the characters a path segment may hold unencoded (pchar), plus "/".
_PATH_SAFE = "/!$&'()*+,;=:@"
_ALLOW = {"Allow": "GET, HEAD"}


class NotModifiedResponse(Response):
    """A ``304 Not Modified`` carrying the headers of ``headers`` a 304 may carry (Starlette's).

    ``StaticFiles`` answers conditional requests through ``FileResponse``, which sends its own
    304; this class is for code written against Starlette's ``StaticFiles`` internals (a
    subclass overriding ``file_response``, say).
    """

    # SPEC: RFC 9110 section 15.4.5: the fields of the 200 that a 304 sends again.
    NOT_MODIFIED_HEADERS = ("cache-control", "content-location", "date", "etag", "expires", "vary")

    def __init__(self, headers: Headers) -> None:
        kept = {name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS}
        super().__init__(status_code=304, headers=kept)


class StaticFiles:
    """Serve files from ``directory`` and the ``statics`` folders of ``packages``.

    Mount it: ``Mount("/static", app=StaticFiles(directory="static"), name="static")``, then
    ``url_for("static", path="/css/app.css")`` builds its URLs. Directories are searched in order:
    ``directory`` first, then each package's.

    Files are sent by ``FileResponse``, so ``ETag``, ``Last-Modified``, 304 on conditional
    requests, ``Range`` and the server's fastest transport come with them. Methods other than GET
    and HEAD get 405 with ``Allow: GET, HEAD``; anything not found (or not readable, or not a
    regular file) 404, raised as ``HTTPException`` so the app's handlers can render it.

    Args:
        directory: a directory to serve.
        packages: package names, or ``(package, subdirectory)`` pairs; a plain name serves the
            package's ``statics`` subdirectory.
        html: HTML mode: a directory serves its ``index.html`` (``/docs`` redirects to
            ``/docs/`` first, so relative links work) and a miss serves the top ``404.html``
            with status 404 when there is one.
        check_dir: raise at construction if ``directory`` (or the ``fallback`` file) does not
            exist.
        follow_symlink: serve symlinks that point outside the directories. By default a
            symlink is followed only when its target lies inside the directory too.
        fallback: with ``html=True``, a file (``"index.html"``) served with status 200 for a
            GET or HEAD that finds nothing and looks like a client-side route of a single-page
            app: a clean path (no empty, ``.`` or ``..`` segment) whose last segment has no
            ``.``, from a client that accepts ``text/html``. Anything else misses as before.

    Raises:
        RuntimeError: ``check_dir`` and ``directory`` does not exist, or the ``fallback`` file
            is in none of the directories.
        ValueError: a package cannot be found or has no such subdirectory, nothing to serve, or
            ``fallback`` without ``html=True`` or outside the directories.
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
        fallback: str | None = None,
    ) -> None:
        self.directory = directory
        self.packages = packages
        self.all_directories = self.get_directories(directory, packages)
        self.html = html
        self.follow_symlink = follow_symlink
        self.config_checked = False
        self._roots: list[str] = []
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(
                f"Directory {os.fspath(directory)!r} does not exist. Create it, fix the path, "
                "or pass check_dir=False to check it at the first request instead."
            )
        self.fallback = fallback
        self._fallback: str | None = None
        if fallback is not None:
            self._fallback = _fallback_path(fallback, html)
            if check_dir:
                self._check_fallback("or pass check_dir=False to check it at the first request")

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """Return the directories to serve: ``directory``, then each package's folder."""
        directories: list[PathLike] = [] if directory is None else [directory]
        if isinstance(packages, str):
            raise TypeError(
                f"packages must be a list of package names, got the string {packages!r}. "
                f"Use packages=[{packages!r}]."
            )
        for package in packages or ():
            name, subdirectory = (package, "statics") if isinstance(package, str) else package
            directories.append(_package_directory(name, subdirectory))
        if not directories:
            raise ValueError("StaticFiles needs something to serve: give directory= or packages=.")
        return directories

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an HTTP request with a file, a redirect, a 404 page, 404 or 405."""
        if scope["type"] == "websocket":
            # SPEC: websocket.close before accept makes the server answer 403.
            await send({"type": "websocket.close", "code": 1000})
            return
        if scope["type"] != "http":
            raise ValueError(
                f"StaticFiles answers 'http' scopes, got {scope['type']!r}. Mount it in a "
                "router or an application, which handle lifespan themselves."
            )
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        response = await self.get_response(self.get_path(scope), scope)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """Return the request path relative to the mount, ``""`` for the top directory.

        A safe path comes back normalized (``"/./css//app.css"`` gives ``"css/app.css"``). As in
        Starlette, a path that would reach outside the directories (``"/../secret"``) is
        returned too, for ``get_response`` to refuse: that is the step that touches the file
        system, so it checks whatever path it is given.
        """
        path = route_path(scope)
        relative = _safe_relative_path(path)
        return path.lstrip("/") if relative is None else relative

    async def get_response(self, path: str, scope: Scope) -> FileResponse | RedirectResponse:
        """Return the response for the relative ``path`` (see ``get_path``).

        Raises:
            HTTPException: 405 for methods other than GET and HEAD; 404 for a path that could
                reach outside the directories (``..``, a backslash, NUL, a drive letter) and
                when nothing is found.
        """
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers=_ALLOW)
        # SECURITY: checked here, whatever get_path (or a subclass's) returned; the directory
        # check in lookup_path stands behind it.
        relative = _safe_relative_path(path)
        if relative is None:
            raise HTTPException(404)
        # PERF: decided from the scope, before the one worker-thread hop; nothing without fallback.
        spa = self._fallback is not None and _is_client_route(scope)
        found, index, missing = await anyio.to_thread.run_sync(self._resolve, relative, spa)
        if found is not None:
            return FileResponse(found[0], stat_result=found[1])
        if index is not None:
            if not scope["path"].endswith("/"):
                return RedirectResponse(_slash_location(scope), status_code=307)
            return FileResponse(index[0], stat_result=index[1])
        if missing is not None:
            return FileResponse(missing[0], stat_result=missing[1], status_code=404)
        raise HTTPException(404)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Return the full path and ``os.stat`` result of ``path`` in the first directory that
        has it, or ``("", None)``. Blocking: call it in a worker thread.

        A path whose real location lies outside the directory is skipped; so is one that cannot
        be read (missing, too long, a symlink loop, no permission).
        """
        roots = self._roots or self._real_roots()
        for root in roots:
            joined = os.path.join(root, path)
            # SECURITY: realpath resolves every symlink, so the check sees where the file is.
            full = os.path.abspath(joined) if self.follow_symlink else os.path.realpath(joined)
            if os.path.commonpath([full, root]) != root:
                continue
            try:
                return full, os.stat(full)
            except (OSError, ValueError):
                continue
        return "", None

    async def check_config(self) -> None:
        """Check, once, that ``directory`` exists and is a directory.

        Raises:
            RuntimeError: it does not exist, or is not a directory.
        """
        if self.directory is not None:
            directory = self.directory
            try:
                result = await anyio.to_thread.run_sync(os.stat, directory)
            except FileNotFoundError:
                raise RuntimeError(
                    f"StaticFiles directory {os.fspath(directory)!r} does not exist."
                ) from None
            if not stat.S_ISDIR(result.st_mode):
                raise RuntimeError(f"StaticFiles path {os.fspath(directory)!r} is not a directory.")
        self._roots = await anyio.to_thread.run_sync(self._real_roots)
        if self._fallback is not None:
            await anyio.to_thread.run_sync(self._check_fallback, "before the first request")

    def _check_fallback(self, when: str) -> None:
        """Raise ``RuntimeError`` unless the fallback file is in one of the directories."""
        if self._regular_file(cast(str, self._fallback)) is None:
            where = ", ".join(repr(os.fspath(d)) for d in self.all_directories)
            raise RuntimeError(
                f"StaticFiles fallback {self.fallback!r} is not a file in {where}. Fix the "
                f"name, or build the front end (its index.html) first, {when}."
            )

    def _real_roots(self) -> list[str]:
        resolve = os.path.abspath if self.follow_symlink else os.path.realpath
        return [resolve(os.fspath(directory)) for directory in self.all_directories]

    def _resolve(
        self, path: str, spa: bool = False
    ) -> tuple[_Found | None, _Found | None, _Found | None]:
        """Find, in one worker thread, the file, else the index page, else (``spa``) the
        fallback, sent as the file, else the 404 page."""
        full, result = self.lookup_path(path)
        if result is not None and stat.S_ISREG(result.st_mode):
            return (full, result), None, None
        if self.html:
            if result is not None and stat.S_ISDIR(result.st_mode):
                index = self._regular_file(os.path.join(path, "index.html"))
                if index is not None:
                    return None, index, None
            if spa:
                page = self._regular_file(cast(str, self._fallback))
                if page is not None:
                    return page, None, None
            return None, None, self._regular_file("404.html")
        return None, None, None

    def _regular_file(self, path: str) -> _Found | None:
        full, result = self.lookup_path(path)
        return (full, result) if result is not None and stat.S_ISREG(result.st_mode) else None


def _safe_relative_path(path: str) -> str | None:
    """Return ``path`` as a relative path of plain segments, or None when it is unsafe.

    ``scope["path"]`` is already percent-decoded, so ``%2e%2e``, ``%2f`` and ``%5c`` arrive here as
    ``..``, ``/`` and ``\\``: checking the decoded segments covers every encoding.
    """
    # SECURITY: a backslash is a separator on Windows and NUL ends a C string: never valid.
    if "\\" in path or "\x00" in path:
        return None
    segments = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        # SECURITY: "..", and drive letters ("C:"), would leave the directory on some system.
        if segment == ".." or ntpath.splitdrive(segment)[0]:
            return None
        segments.append(segment)
    return "/".join(segments)


def _fallback_path(fallback: str, html: bool) -> str:
    """The relative path of the ``fallback`` file, checked when ``StaticFiles`` is built."""
    if not html:
        raise ValueError(
            f"StaticFiles fallback={fallback!r} serves a single-page app's HTML and needs HTML "
            f"mode: StaticFiles(directory=..., html=True, fallback={fallback!r})."
        )
    relative = _safe_relative_path(fallback) if isinstance(fallback, str) else None
    if not relative:
        raise ValueError(
            f"StaticFiles fallback must be a file path inside the directory, such as "
            f"'index.html', got {fallback!r}."
        )
    return relative


def _is_client_route(scope: Scope) -> bool:
    """Whether a request that found nothing should get the single-page app's HTML."""
    segments = route_path(scope).split("/")[1:]  # the path starts with "/" (or is "")
    # SECURITY: a client-side router links clean paths. An empty, "." or ".." segment is no
    # route but a probe ("//etc/passwd"), and keeps its 404. A dot in the last segment names a
    # file (app.js, favicon.ico), whose miss must stay a miss.
    if segments and "." in segments[-1]:
        return False
    if any(segment in ("", ".", "..") for segment in segments[:-1]):
        return False
    # A fetch() for data (Accept: application/json) gets its 404, not HTML; browsers'
    # navigations send text/html, and a missing Accept accepts anything (RFC 9110 12.5.1).
    values = [value for name, value in scope["headers"] if name == b"accept"]
    return not values or accepts(b",".join(values).decode("latin-1"), "text/html")


def _slash_location(scope: Scope) -> str:
    # SECURITY: relative (no Host header reflected), and never "//host" or "/\host".
    location = "/" + quote(full_path(scope).lstrip("/\\"), safe=_PATH_SAFE) + "/"
    query: bytes = scope.get("query_string", b"")
    if query:
        location += "?" + decode_query_string(query)
    return location


def _package_directory(package: str, subdirectory: str) -> str:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ValueError(
            f"StaticFiles cannot find the package {package!r}. Check its name and that it is "
            "installed (importable)."
        )
    locations: Any = spec.submodule_search_locations
    if spec.origin is not None and os.path.isfile(spec.origin):
        base = os.path.dirname(spec.origin)
    elif locations:
        base = next(iter(locations))  # a namespace package
    else:
        raise ValueError(f"StaticFiles cannot locate the files of package {package!r}.")
    directory = os.path.normpath(os.path.join(base, subdirectory))
    if not os.path.isdir(directory):
        raise ValueError(
            f"Directory {subdirectory!r} in package {package!r} could not be found (looked in "
            f"{directory!r}). Create it, or name the subdirectory: packages=[({package!r}, "
            "'static')]."
        )
    return directory
