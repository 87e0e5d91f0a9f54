"""Jinja2 templates rendered into HTML responses (the optional ``templates`` extra).

``Jinja2Templates`` keeps Starlette's name, signature and behaviour: ``TemplateResponse(request,
name, context)`` puts the request into the context, a ``url_for`` global builds URLs from route
names, and context processors add values to every template. Three differences: the template is
loaded and rendered when the response is sent, in a worker thread, so the file system is never
touched on the event loop; autoescaping is on for every template but plain-text ones, not only
for names ending in ``.html``; and the ``http.response.debug`` message is sent only to a client
that advertises the extension.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

try:
    import jinja2
except ImportError as error:
    raise ImportError(
        "microasgi.templating needs Jinja2, which is not installed. Install the templates "
        "extra: pip install 'microasgi[templates]'"
    ) from error

import anyio.to_thread

from microasgi._asgi.concurrency import is_async_callable
from microasgi.background import BackgroundTask
from microasgi.datastructures import URL, MutableHeaders
from microasgi.responses import HTMLResponse
from microasgi.types import Receive, Scope, Send

if TYPE_CHECKING:
    from microasgi.requests import Request

__all__ = ["Jinja2Templates"]

_DEBUG = "http.response.debug"
_LENGTH = b"content-length"
ContextProcessor = Callable[["Request"], Mapping[str, Any]]
Directory = str | os.PathLike[str]

# SECURITY: escape every template except those that are plain text by name. Jinja2's own
# select_autoescape() default escapes only names ending in .html/.htm/.xml, so "page.html.j2"
# or "card.jinja" would render user input as raw HTML.
_AUTOESCAPE = jinja2.select_autoescape(
    enabled_extensions=("html", "htm", "xml", "xhtml", "svg"),
    disabled_extensions=("txt", "text"),
    default_for_string=True,
    default=True,
)


class _DirectoryOrEnv(ValueError, AssertionError):
    """Neither or both of ``directory=`` and ``env=``: a ``ValueError``, and the
    ``AssertionError`` Starlette raises (it ``assert``s), so code written for either catches it."""


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **path_params: Any) -> URL:
    """``url_for(name, **params)`` in a template: ``request.url_for`` on the context's request."""
    request: Request = context["request"]
    return request.url_for(name, **path_params)


def _loads_from_memory(loader: jinja2.BaseLoader | None) -> bool:
    """Tell whether ``loader`` is known to load templates without touching the file system.

    Only Jinja2's own in-memory loaders (exactly those classes: a subclass may override
    ``get_source``), and choice or prefix loaders made only of them, qualify. Anything else,
    ``FunctionLoader`` included (its function is the user's), may read files.
    """
    kind = type(loader)
    if kind is jinja2.DictLoader:
        return True
    if kind is jinja2.ChoiceLoader:
        return all(_loads_from_memory(inner) for inner in cast(jinja2.ChoiceLoader, loader).loaders)
    if kind is jinja2.PrefixLoader:
        inners = cast(jinja2.PrefixLoader, loader).mapping.values()
        return all(_loads_from_memory(inner) for inner in inners)
    return False


class _HeadersRenderedOnRead(MutableHeaders):
    """``headers`` of a template response: reading renders the body first, writing does not.

    The ``Content-Length`` header needs the rendered body. Reading the headers before the
    response is sent renders on the spot, so what is read is complete; writing (``h[k] = v``,
    ``del``, ``append``, ``update``, ``add_vary_header``) edits the header list alone, so an
    endpoint can add headers without loading the template on the event loop.
    """

    __slots__ = ("_before_read",)

    def __init__(self, raw: list[tuple[bytes, bytes]], before_read: Callable[[], None]) -> None:
        super().__init__(raw=raw)
        self._before_read = before_read

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The ASGI header list, once the body is rendered."""
        self._before_read()
        return super().raw

    def keys(self) -> list[str]:  # type: ignore[override]
        """Every header name, once the body is rendered."""
        self._before_read()
        return super().keys()

    def values(self) -> list[str]:  # type: ignore[override]
        """Every header value, once the body is rendered."""
        self._before_read()
        return super().values()

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every ``(name, value)`` pair, once the body is rendered."""
        self._before_read()
        return super().items()

    def getlist(self, key: str) -> list[str]:
        """Every value of header ``key``, once the body is rendered."""
        self._before_read()
        return super().getlist(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of header ``key``, or ``default``, once the body is rendered."""
        self._before_read()
        return super().get(key, default)

    def mutablecopy(self) -> MutableHeaders:
        """A ``MutableHeaders`` over a copy of the header list, once the body is rendered."""
        self._before_read()
        return super().mutablecopy()

    def setdefault(self, key: str, value: str) -> str:
        """As ``MutableHeaders.setdefault``, once the body is rendered (it reads first)."""
        self._before_read()
        return super().setdefault(key, value)

    def __getitem__(self, key: str) -> str:
        self._before_read()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._before_read()
        return super().__contains__(key)

    def __len__(self) -> int:
        self._before_read()
        return super().__len__()

    def __eq__(self, other: object) -> bool:
        self._before_read()
        return super().__eq__(other)


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from a template when it is sent, keeping what it came from.

    ``template`` and ``context`` stay on the response, and a test client that advertises the
    ``http.response.debug`` extension receives both, so tests can check what was rendered.

    Built from a template name (as ``Jinja2Templates.TemplateResponse`` does), the template is
    loaded when the response is sent; built from a ``jinja2.Template`` (Starlette's private
    signature), it is already loaded. Either way the rendering (which loads any included or
    extended template) happens when the response is sent, in a worker thread unless the
    environment loads from memory only. Reading ``body``, ``template`` or ``headers`` before
    then does the same work synchronously, at that moment.
    """

    # Where the Content-Length header goes in raw_headers once the body is known, or None when
    # none is due (given by the caller, forbidden by the status, or already added).
    _length_index: int | None = None

    def __init__(
        self,
        template: jinja2.Template | str,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        templates: Jinja2Templates | None = None,
    ) -> None:
        self._templates = templates
        if isinstance(template, str):
            if templates is None:
                raise TypeError(
                    f"_TemplateResponse got the template name {template!r} without templates=. "
                    f"Use templates.TemplateResponse(request, {template!r}, context)."
                )
            self._name = template
            self._template: jinja2.Template | None = None
        else:
            self._name = template.name or ""
            self._template = template
        self.context = context
        # Validates the status and encodes the headers; the empty body stands in for the
        # rendered one until it is known (the body setter stores it).
        super().__init__("", status_code, headers, media_type, background)
        # Response.init_headers puts Content-Length right after the caller's headers, when due:
        # take that placeholder out, and put the real one back there once the body is rendered.
        index = len(headers) if headers is not None else 0
        if index < len(self.raw_headers) and self.raw_headers[index][0] == _LENGTH:
            del self.raw_headers[index]
            self._length_index = index
        self._body: bytes | memoryview | None = None

    @property
    def template(self) -> jinja2.Template:
        """The ``jinja2.Template``; loaded on first access if the response has not been sent."""
        template = self._template
        if template is None:
            template = self._template = cast(Jinja2Templates, self._templates).get_template(
                self._name
            )
        return template

    @property
    def body(self) -> bytes | memoryview:
        """The rendered body; rendered on the spot if the response has not been sent yet."""
        self._ensure_body()
        return cast(bytes | memoryview, self._body)

    @body.setter
    def body(self, value: bytes | memoryview) -> None:
        self._body = value
        index = self._length_index
        if index is not None:
            self._length_index = None
            raw = self.raw_headers
            # Set by hand meanwhile (response.headers["content-length"] = ...): it stays, as it
            # would replace the computed one in Starlette.
            if not any(name == _LENGTH for name, _ in raw):
                size = len(value) if value.__class__ is bytes else memoryview(value).nbytes
                raw.insert(min(index, len(raw)), (_LENGTH, str(size).encode("ascii")))

    @property
    def headers(self) -> MutableHeaders:
        """The headers; reading them renders the body first (for ``Content-Length``)."""
        return _HeadersRenderedOnRead(self.raw_headers, self._ensure_body)

    def _ensure_body(self) -> None:
        """Render the body now unless it is known."""
        if self._body is None:
            self._render()

    def _render(self) -> None:
        """Load the template, and render the body unless it is known. Reads files: not on the
        event loop (except when user code asks for the body or the headers before sending)."""
        template = self.template
        if self._body is None:
            self.body = self.render(template.render(self.context))

    def _renders_in_memory(self) -> bool:
        """Tell whether loading and rendering are known to leave the file system alone."""
        template = self._template
        if template is not None:
            env = template.environment
        else:
            templates = cast(Jinja2Templates, self._templates)
            if type(templates).get_template is not Jinja2Templates.get_template:
                return False  # a subclass's get_template may load from anywhere
            env = templates.env
        # A bytecode cache reads and writes its own files, whatever the loader.
        return env.bytecode_cache is None and _loads_from_memory(env.loader)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Render (off the loop), send the debug info if the client asked for it, then send."""
        # SPEC: http.response.debug is meant for test clients; only a scope that lists it may
        # receive it ("ASGI servers should not implement it"), and it comes before the start.
        debug = scope["type"] == "http" and _DEBUG in (scope.get("extensions") or ())
        # The template is loaded for the debug info even when the body was set by hand.
        if self._body is None or (debug and self._template is None):
            # PERF: a thread hop costs tens of microseconds per response (measured in
            # docs/templates.md), more than rendering a small template. Templates that come from
            # memory (DictLoader, and choice/prefix loaders of them, with no bytecode cache)
            # render inline: nothing there can block on the disk. Every other loader, the
            # user's FunctionLoader included, may stat and read files (FileSystemLoader does on
            # first load, on every auto_reload check, and for each include): a worker thread.
            if self._renders_in_memory():
                self._render()
            else:
                await anyio.to_thread.run_sync(self._render)
        if debug:
            info = {"template": self.template, "context": self.context}
            await send({"type": _DEBUG, "info": info})
        await super().__call__(scope, receive, send)


class Jinja2Templates:
    """Render Jinja2 templates into HTML responses.

    Args:
        directory: the folder (or a list of folders, searched in order) holding the templates.
        context_processors: functions called with the request for every response, each
            returning a mapping merged into the template context.
        env: a ready ``jinja2.Environment`` to use instead of building one from ``directory``.
        **env_options: options for the ``jinja2.Environment`` built from ``directory`` (for
            example ``trim_blocks=True``). ``autoescape`` defaults to on for every template
            except ``.txt`` and ``.text`` ones.

    Templates can call ``url_for(name, **path_params)``, which returns the absolute URL of a
    route, like ``request.url_for``.

    Construction touches no file: the directories are not checked here (a missing one shows as
    ``jinja2.TemplateNotFound`` when a template is rendered, as in Starlette), so building the
    object anywhere, even inside a request, never blocks.

    Raises:
        ValueError: both or neither of ``directory`` and ``env`` are given (an
            ``AssertionError`` too, as Starlette's ``assert``), ``env_options`` are given with
            ``env``, or ``env`` is an async environment.
        TypeError: a context processor is not a plain (sync) function.
    """

    def __init__(
        self,
        directory: Directory | Sequence[Directory] | None = None,
        *,
        context_processors: Sequence[ContextProcessor] | None = None,
        env: jinja2.Environment | None = None,
        **env_options: Any,
    ) -> None:
        if (directory is None) == (env is None):
            # Starlette's sentence inside ours, so a ported pytest.raises(match=...) still matches.
            raise _DirectoryOrEnv(
                "Jinja2Templates needs exactly one of directory= and env=, got "
                f"{'both' if env is not None else 'neither'} (either 'directory' or 'env' "
                "arguments must be passed). Pass directory='templates' to load templates from a "
                "folder, or env=jinja2.Environment(...) to use your own."
            )
        if env is None:
            env_options.setdefault("loader", jinja2.FileSystemLoader(directory))  # type: ignore[arg-type]
            env_options.setdefault("autoescape", _AUTOESCAPE)
            env = jinja2.Environment(**env_options)
        elif env_options:
            raise ValueError(
                f"Jinja2Templates got env= and environment options {sorted(env_options)!r}. "
                "Set the options on the environment you pass instead."
            )
        if env.is_async:
            raise ValueError(
                "Jinja2Templates cannot use an environment built with enable_async=True: "
                "TemplateResponse renders synchronously. Build it without enable_async."
            )
        processors = list(context_processors or ())
        for processor in processors:
            if not callable(processor) or is_async_callable(processor):
                raise TypeError(
                    f"Context processors must be plain functions taking the request and "
                    f"returning a dict, got {processor!r}. Compute async values in the endpoint "
                    "and pass them in the context."
                )
        # setdefault: an environment that defines its own url_for keeps it.
        env.globals.setdefault("url_for", _url_for)
        self.env = env
        """The ``jinja2.Environment`` templates are loaded from; add filters and globals here."""
        self.context_processors = processors
        """The context processors, called in order for every ``TemplateResponse``."""

    def get_template(self, name: str) -> jinja2.Template:
        """Load the template called ``name``, synchronously.

        With a file system loader this stats and reads files (and stats them again on later
        calls while ``auto_reload`` is on): call it from sync code, at startup, or from an
        async endpoint through a worker thread,
        ``await anyio.to_thread.run_sync(templates.get_template, name)``.
        ``TemplateResponse`` needs none of that: it loads the template off the event loop.

        Raises:
            jinja2.TemplateNotFound: no template has that name.
        """
        return self.env.get_template(name)

    def TemplateResponse(  # Starlette's name, spelled like the class it returns
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Return an HTML response that renders the template ``name`` when it is sent.

        The template sees ``context``, plus ``request`` (unless the context has its own), plus
        what each context processor returns (which wins over both, as in Starlette). The
        caller's mapping is copied, never changed. The context processors run here; the
        template is loaded and rendered when the response is sent, in a worker thread (inline
        for templates held in memory), so no file is read on the event loop. Reading
        ``response.body``, ``response.template`` or ``response.headers`` before that does the
        work at once, synchronously; writing headers or cookies does not.

        A missing template (``jinja2.TemplateNotFound``) or an error in the template is raised
        when the response is sent, so it reaches the app's exception handlers (a 500 unless
        one is registered for it), as an error raised by the endpoint would.

        Args:
            request: the request being answered.
            name: the template's name, relative to the template directories.
            context: the values the template sees.
            status_code: the HTTP status.
            headers: extra headers.
            media_type: the ``Content-Type``, ``text/html`` by default.
            background: a task run after the response has been sent.

        Raises:
            TypeError: the request is missing (Starlette's old ``TemplateResponse(name,
                context)`` order).
        """
        if isinstance(cast(object, request), str):
            raise TypeError(
                f"TemplateResponse takes the request first, got the template name {request!r}. "
                f"Call TemplateResponse(request, {request!r}, context) instead of putting the "
                "request into the context."
            )
        merged = dict(context or {})
        merged.setdefault("request", request)
        for processor in self.context_processors:
            merged.update(processor(request))
        return _TemplateResponse(
            name, merged, status_code, headers, media_type, background, templates=self
        )
