"""Jinja2 templates rendered into HTML responses (the optional ``templates`` extra).

``Jinja2Templates`` keeps Starlette's name, signature and behaviour: ``TemplateResponse(request,
name, context)`` puts the request into the context, a ``url_for`` global builds URLs from route
names, and context processors add values to every template. Two differences: autoescaping is on
for every template but plain-text ones, not only for names ending in ``.html``, and the
``http.response.debug`` message is sent only to a client that advertises the extension.
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

from microasgi._utils import is_async_callable
from microasgi.background import BackgroundTask
from microasgi.datastructures import URL
from microasgi.responses import HTMLResponse
from microasgi.types import Receive, Scope, Send

if TYPE_CHECKING:
    from microasgi.requests import Request

__all__ = ["Jinja2Templates"]

_DEBUG = "http.response.debug"
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


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **path_params: Any) -> URL:
    """``url_for(name, **params)`` in a template: ``request.url_for`` on the context's request."""
    request: Request = context["request"]
    return request.url_for(name, **path_params)


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from a template, keeping what it was rendered from.

    ``template`` and ``context`` stay on the response, and a test client that advertises the
    ``http.response.debug`` extension receives both, so tests can check what was rendered.
    """

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        super().__init__(template.render(context), status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the debug info first when the client asked for it, then the response."""
        # SPEC: http.response.debug is meant for test clients; only a scope that lists it may
        # receive it ("ASGI servers should not implement it"), and it comes before the start.
        if scope["type"] == "http" and _DEBUG in (scope.get("extensions") or ()):
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

    Raises:
        ValueError: both or neither of ``directory`` and ``env`` are given, ``env_options`` are
            given with ``env``, or ``env`` is an async environment.
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
            raise ValueError(
                "Jinja2Templates needs exactly one of directory= and env=, got "
                f"{'both' if env is not None else 'neither'}. Pass directory='templates' to load "
                "templates from a folder, or env=jinja2.Environment(...) to use your own."
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
        """Load the template called ``name``.

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
        """Render the template ``name`` into an HTML response.

        The template sees ``context``, plus ``request`` (unless the context has its own), plus
        what each context processor returns (which wins over both, as in Starlette). The
        caller's mapping is copied, never changed.

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
            jinja2.TemplateNotFound: no template has that name.
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
        template = self.get_template(name)
        return _TemplateResponse(template, merged, status_code, headers, media_type, background)
