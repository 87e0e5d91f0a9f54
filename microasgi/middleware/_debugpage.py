"""The debug page: an exception, its chain and the request, as one self-contained HTML document.

Pure rendering, no I/O: ``ServerErrorMiddleware(debug=True)`` calls ``render_html`` for a
browser and ``render_text`` for anything else. Exceptions read as Python prints them: the chain
oldest first, linked by Python's own sentences, each group's sub-exceptions numbered inside it,
each frame with its file, line, function and the source around the failing line. Frames from the
app's own code are open; frames from microasgi, anyio, Starlette, trio, the standard library and
installed packages are collapsed (``<details>``: no script needed). Local variables are shown only
when asked for (``debug_locals=True``), so a page shown with ``debug`` alone is safe to paste into
a bug report: it holds the request's shape with its credentials redacted, never a frame's values.
"""

from __future__ import annotations

import html
import linecache
import sysconfig
import traceback
from types import TracebackType
from urllib.parse import parse_qsl

from microasgi.types import Scope

__all__ = ["render_html", "render_text"]

CONTEXT_LINES = 3
"""Source lines shown before and after a frame's failing line."""
LOCAL_REPR_LIMIT = 240
"""A local variable's ``repr`` is cut to this many characters."""
_MAX_GROUP_DEPTH = 10
_MAX_GROUP_WIDTH = 15
_REPEAT_LIMIT = 3

_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"

# SECURITY: these headers carry credentials; the page may be pasted into a bug report.
_REDACTED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
_REDACTED = "[redacted]"

# Frames from these packages are the toolkit's, not the app's: shown collapsed.
_LIBRARY_MODULES = frozenset({"microasgi", "anyio", "starlette", "trio", "sniffio", "asyncio"})
_LIBRARY_PATHS = tuple(
    sorted(
        {
            path
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if (path := sysconfig.get_paths().get(key))
        }
    )
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 75rem;
  color: #1d1d1f; background: #fff; }
h1 { font-size: 1.3rem; color: #b00020; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.error { font-family: ui-monospace, monospace; font-size: 1.05rem; white-space: pre-wrap;
  background: #fff0f0; border-left: 4px solid #b00020; padding: .6rem .8rem; margin: .4rem 0; }
.link { font-style: italic; color: #555; margin: 1.2rem 0; }
.group { border-left: 3px solid #e0a000; padding-left: 1rem; margin: .6rem 0 .6rem .4rem; }
.sub { font-weight: 600; color: #8a5a00; margin: .8rem 0 .3rem; }
details.frame { border: 1px solid #ddd; border-radius: 4px; margin: .35rem 0; }
details.frame > summary { cursor: pointer; padding: .35rem .6rem; background: #f7f7f7;
  font-family: ui-monospace, monospace; font-size: .88rem; overflow-wrap: anywhere; }
details.library > summary { color: #777; }
.tag { font-family: system-ui, sans-serif; font-size: .75rem; color: #777; margin-left: .5rem; }
pre.source { margin: 0; padding: .4rem 0; overflow-x: auto; font-size: .85rem; line-height: 1.45; }
pre.source > span, pre.source > mark { display: block; padding: 0 .6rem; }
pre.source mark { background: #ffe3e3; color: inherit; font-weight: 600; }
.n { color: #999; user-select: none; }
.repeat { color: #777; font-style: italic; margin: .3rem 0 .3rem .6rem; }
table { border-collapse: collapse; font-size: .88rem; margin: .3rem 0; }
th, td { text-align: left; vertical-align: top; padding: .2rem .8rem .2rem 0;
  font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
th { color: #555; font-weight: 600; white-space: nowrap; }
table.locals { margin: .3rem .6rem .6rem; }
.none { color: #777; font-style: italic; }
"""


def render_text(exc: BaseException) -> str:
    """The traceback exactly as Python prints it, for a client that does not accept HTML."""
    return "".join(traceback.format_exception(exc))


def render_html(exc: BaseException, scope: Scope, *, show_locals: bool = False) -> str:
    """The debug page for ``exc`` raised while serving ``scope``: one HTML document.

    Args:
        exc: the exception to show, with its chain and, for a group, its sub-exceptions.
        scope: the connection's scope, for the request section.
        show_locals: show each frame's local variables (their ``repr``, cut and escaped).
    """
    heading = _escape(_summary(exc))
    # SECURITY: a Content-Security-Policy that allows no script and no fetch, so even text that
    # escaped the escaping could not run or load anything; inline style is all the page needs.
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>500 Server Error: {_escape(type(exc).__name__)}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        '<h1>500 Server Error</h1>\n<pre class="error" id="error">'
        f"{heading}</pre>\n"
        '<section id="traceback">\n<h2>Exceptions <span class="tag">oldest first; in each '
        "traceback, the most recent call last</span></h2>\n"
        f"{_render_chain(exc, show_locals, depth=0, seen=set())}"
        "</section>\n"
        f"{_render_request(scope)}"
        "</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _summary(exc: BaseException) -> str:
    """``Type: message`` and any notes, as Python prints them (a failing ``__str__`` included)."""
    return "".join(traceback.format_exception_only(exc)).rstrip("\n")


def _chain(exc: BaseException, seen: set[int]) -> list[tuple[BaseException, str]]:
    """``exc`` and the exceptions behind it, oldest first, each with the sentence that follows
    it (the link to the next one; empty for ``exc`` itself)."""
    found: list[tuple[BaseException, str]] = []
    link = ""
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append((current, link))
        if current.__cause__ is not None:
            link, current = _CAUSE, current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = _CONTEXT, current.__context__
        else:
            current = None
    # Reversed, each exception is followed by the sentence that led from the newer one to it.
    found.reverse()
    return found


def _render_chain(exc: BaseException, show_locals: bool, depth: int, seen: set[int]) -> str:
    parts = []
    for error, link in _chain(exc, seen):
        parts.append(_render_exception(error, show_locals, depth, seen))
        if link:
            parts.append(f'<p class="link">{_escape(link)}</p>\n')
    return "".join(parts)


def _render_exception(exc: BaseException, show_locals: bool, depth: int, seen: set[int]) -> str:
    group = isinstance(exc, BaseExceptionGroup)
    label = "Exception Group Traceback" if group else "Traceback"
    parts = [
        f'<div class="exception">\n<h3>{label}</h3>\n',
        _render_frames(exc.__traceback__, show_locals),
        f'<pre class="error">{_escape(_summary(exc))}</pre>\n',
    ]
    if isinstance(exc, BaseExceptionGroup):
        parts.append(_render_group(exc, show_locals, depth, seen))
    parts.append("</div>\n")
    return "".join(parts)


def _render_group(
    group: BaseExceptionGroup[BaseException], show_locals: bool, depth: int, seen: set[int]
) -> str:
    if depth + 1 >= _MAX_GROUP_DEPTH:
        return '<p class="repeat">... (max_group_depth is 10)</p>\n'
    members = group.exceptions
    parts = ['<div class="group">\n']
    for number, member in enumerate(members[:_MAX_GROUP_WIDTH], start=1):
        parts.append(f'<p class="sub">Sub-exception {number} of {len(members)}</p>\n')
        parts.append(_render_chain(member, show_locals, depth + 1, seen))
    if len(members) > _MAX_GROUP_WIDTH:
        more = len(members) - _MAX_GROUP_WIDTH
        parts.append(f'<p class="repeat">and {more} more exception{"s" * (more != 1)}</p>\n')
    parts.append("</div>\n")
    return "".join(parts)


def _render_frames(tb: TracebackType | None, show_locals: bool) -> str:
    parts: list[str] = []
    last: tuple[str, int, str] | None = None
    repeats = 0
    while tb is not None:
        code = tb.tb_frame.f_code
        key = (code.co_filename, tb.tb_lineno, code.co_name)
        # As Python does: a frame repeated more than three times in a row (a deep recursion)
        # is counted, not shown again.
        repeats = repeats + 1 if key == last else 0
        last = key
        if repeats < _REPEAT_LIMIT:
            parts.append(_render_frame(tb, show_locals))
        elif tb.tb_next is None or _key(tb.tb_next) != key:
            count = repeats - _REPEAT_LIMIT + 1
            parts.append(
                f'<p class="repeat">[Previous frame repeated {count} more '
                f"time{'s' * (count != 1)}]</p>\n"
            )
        tb = tb.tb_next
    return "".join(parts)


def _key(tb: TracebackType) -> tuple[str, int, str]:
    code = tb.tb_frame.f_code
    return (code.co_filename, tb.tb_lineno, code.co_name)


def _is_library(filename: str, module: object) -> bool:
    if isinstance(module, str) and module.partition(".")[0] in _LIBRARY_MODULES:
        return True
    return filename.startswith("<frozen ") or filename.startswith(_LIBRARY_PATHS)


def _render_frame(tb: TracebackType, show_locals: bool) -> str:
    frame = tb.tb_frame
    filename, lineno, function = _key(tb)
    library = _is_library(filename, frame.f_globals.get("__name__"))
    kind = "library" if library else "app"
    tag = '<span class="tag">library</span>' if library else ""
    source = _render_source(filename, lineno, frame.f_globals)
    local_values = _render_locals(frame.f_locals) if show_locals else ""
    return (
        f'<details class="frame {kind}"{"" if library else " open"}>\n'
        f'<summary>File <span class="file">{_escape(filename)}</span>, line '
        f'<span class="lineno">{lineno}</span>, in <span class="function">'
        f"{_escape(function)}</span>{tag}</summary>\n"
        f"{source}{local_values}</details>\n"
    )


def _render_source(filename: str, lineno: int, module_globals: dict[str, object]) -> str:
    lines = linecache.getlines(filename, module_globals)
    if not 0 < lineno <= len(lines):
        return '<p class="repeat">(source not available)</p>\n'
    first = max(1, lineno - CONTEXT_LINES)
    last = min(len(lines), lineno + CONTEXT_LINES)
    width = len(str(last))
    rows = []
    for number in range(first, last + 1):
        text = _escape(lines[number - 1].rstrip("\r\n"))
        marker = "&gt;" if number == lineno else " "
        cell = f'<span class="n">{marker}{number:>{width}} </span>{text}'
        if number == lineno:
            rows.append(f'<mark class="current" title="the failing line">{cell}</mark>')
        else:
            rows.append(f"<span>{cell}</span>")
    return f'<pre class="source">{"".join(rows)}</pre>\n'


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not break the page
        text = f"<repr() failed: {type(error).__name__}>"
    if len(text) > LOCAL_REPR_LIMIT:
        text = text[: LOCAL_REPR_LIMIT - 3] + "..."
    return text


def _render_locals(values: dict[str, object]) -> str:
    if not values:
        return '<p class="none repeat">no local variables</p>\n'
    rows = "".join(
        f"<tr><th>{_escape(name)}</th><td>{_escape(_safe_repr(value))}</td></tr>"
        for name, value in values.items()
    )
    return f'<table class="locals"><caption hidden>Local variables</caption>{rows}</table>\n'


def _header_value(name: str, raw: bytes) -> str:
    if name in _REDACTED_HEADERS:
        return _REDACTED
    return raw.decode("latin-1")


def _render_request(scope: Scope) -> str:
    # Everything comes from the scope directly: a Request would validate the Host header and
    # could raise a second error while the first one is reported.
    headers = [
        (bytes(name).decode("latin-1").lower(), bytes(value))
        for name, value in scope.get("headers") or ()
    ]
    host = next((value.decode("latin-1") for name, value in headers if name == "host"), "")
    if not host and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}" if server_port is not None else str(server_host)
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    url = (
        f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"
        f"{scope.get('path', '')}{'?' + query if query else ''}"
    )
    client = scope.get("client")
    summary = [
        ("Method", str(scope.get("method", "GET" if scope.get("type") == "websocket" else ""))),
        ("URL", url),
        ("Client", f"{client[0]}:{client[1]}" if client else "unknown"),
        ("Type", f"{scope.get('type', '')} (HTTP/{scope.get('http_version', '1.1')})"),
    ]
    return (
        '<section id="request">\n<h2>Request</h2>\n'
        f"{_table(summary, 'request-summary')}"
        "<h3>Headers</h3>\n"
        f"{_table([(n, _header_value(n, v)) for n, v in headers], 'headers')}"
        "<h3>Query parameters</h3>\n"
        f"{_table(parse_qsl(query, keep_blank_values=True), 'query')}"
        "</section>\n"
    )


def _table(rows: list[tuple[str, str]], name: str) -> str:
    if not rows:
        return f'<p class="none" id="{name}">none</p>\n'
    cells = "".join(f"<tr><th>{_escape(k)}</th><td>{_escape(v)}</td></tr>" for k, v in rows)
    return f'<table id="{name}">{cells}</table>\n'
