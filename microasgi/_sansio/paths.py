"""Route path templates, sans-I/O: parsing (``compile_path``), matching one template by regex
(``match_compiled``) and filling one in (``replace_params``).

A template such as ``/users/{id:int}`` parses into a ``CompiledPath`` once, when its route is built;
the router's trie (``microasgi._sansio.matcher``) matches many of them at a time, and a route alone
uses its regex.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microasgi.convertors import Convertor, PathConvertor, _resolve_convertor

_PARAM = re.compile(r"{([^{}:]*)(?::([^{}]*))?}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# SECURITY: a path holding a control character (a trailing newline, NUL ...) matches no route.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A route path template, parsed once.

    Attributes:
        path: the template as declared, e.g. ``"/users/{id:int}"``.
        path_format: the template with converters removed, e.g. ``"/users/{id}"``.
        param_convertors: every parameter's converter, in declaration order.
        steps: the leading segments the trie can hold: a ``str`` for a static segment, a
            ``(name, Convertor)`` pair for a one-parameter segment.
        tail: the regex for what follows ``steps`` when the trie cannot hold it, else ``None``.
        regex: the whole template as one regex (what a linear scan would use).
    """

    path: str
    path_format: str
    param_convertors: dict[str, Convertor[Any]]
    steps: tuple[str | tuple[str, Convertor[Any]], ...]
    tail: re.Pattern[str] | None
    regex: re.Pattern[str]
    crowded: tuple[tuple[int, ...], int] | None = None
    """Where segments holding several parameters (``{name}.{ext}``) sit in a split path: their
    indices, and the index from which every segment counts (0 for none: after a ``path``
    converter their place is unknown); None when there are none. See ``too_long``."""


def compile_path(
    path: str, convertors: Mapping[str, Convertor[Any]] | None = None, *, is_prefix: bool = False
) -> CompiledPath:
    """Parse a route path template; raise ``ValueError`` naming the fix if it is malformed.

    ``convertors`` adds converters (by name) to the registered ones, for one router's routes.
    ``is_prefix`` is for mounts: the path may be empty and must not end with ``/``.
    """
    if is_prefix:
        if path and not path.startswith("/"):
            raise ValueError(
                f"Mount path must start with '/' or be empty, got {path!r}. Use '/{path}'."
            )
        path = path.rstrip("/")
    elif not path.startswith("/"):
        raise ValueError(f"Route path must start with '/', got {path!r}. Use '/{path}'.")
    if _CONTROL.search(path):
        raise ValueError(f"Route path {path!r} contains a control character; remove it.")
    names = [match[1] for match in _PARAM.finditer(path)]
    if len(names) != len(set(names)):
        duplicated = sorted({name for index, name in enumerate(names) if name in names[:index]})
        # Starlette's text first (ported tests match it), then the fix.
        raise ValueError(
            f"Duplicated param name{'s' if len(duplicated) > 1 else ''} {', '.join(duplicated)} "
            f"at path {path}: a name may appear once in a route path. Rename the repeats."
        )

    param_convertors: dict[str, Convertor[Any]] = {}
    regex_parts: list[str] = []
    format_parts: list[str] = []
    tail_parts: list[str] = []
    steps: list[str | tuple[str, Convertor[Any]]] = []
    in_tail = False
    crowded: list[int] = []
    unknown_from = 0  # the split index of the first segment after a path converter
    for index, segment in enumerate(path.split("/")[1:] if path else [], start=1):
        params = list(_PARAM.finditer(segment))
        if len(params) > 1:
            crowded.append(index)
        seg_regex, seg_format = _segment(segment, params, path, convertors, param_convertors)
        if not unknown_from and any(
            isinstance(param_convertors[match[1]], PathConvertor) for match in params
        ):
            unknown_from = index
        regex_parts.append(seg_regex)
        format_parts.append(seg_format)
        whole = len(params) == 1 and params[0].span() == (0, len(segment))
        if not in_tail and not params:
            steps.append(segment)
        elif (
            not in_tail and whole and not isinstance(param_convertors[params[0][1]], PathConvertor)
        ):
            name = params[0][1]
            steps.append((name, param_convertors[name]))
        else:
            in_tail = True
            tail_parts.append(seg_regex)
    # A mount matches its prefix followed by "/" and anything; the rest goes to the mounted app.
    rest = "(?P<_mount_rest>/.*)" if is_prefix else ""
    tail = "".join(f"/{part}" for part in tail_parts) + rest
    return CompiledPath(
        path=path,
        path_format="".join(f"/{part}" for part in format_parts),
        param_convertors=param_convertors,
        steps=tuple(steps),
        tail=re.compile(tail, re.DOTALL) if in_tail else None,
        regex=re.compile("".join(f"/{part}" for part in regex_parts) + rest, re.DOTALL),
        crowded=_crowded_places(crowded, unknown_from),
    )


def _crowded_places(crowded: list[int], unknown_from: int) -> tuple[tuple[int, ...], int] | None:
    if not crowded:
        return None
    if unknown_from and crowded[-1] > unknown_from:
        # Past a path converter the crowded segments have no fixed place: count them all.
        return tuple(i for i in crowded if i < unknown_from), unknown_from
    return tuple(crowded), 0


# SECURITY: CWE-1333. A segment holding several parameters ({a}.{b}.{c}.txt) is matched by a
# regex whose backtracking grows with a power of the segment's length when it fails: a 1.6 KB
# segment took seconds. Such templates match segments of at most this many characters (a file
# name's limit on common file systems), which bounds the work; longer ones do not match.
MAX_CROWDED_SEGMENT = 255


def too_long(compiled: CompiledPath, parts: list[str]) -> bool:
    """Whether the split path ``parts`` (``path.split("/")``) holds, where the template's crowded
    segments may sit, a segment too long to be matched by their regex."""
    places = compiled.crowded
    if places is None:
        return False
    indices, unknown_from = places
    size = len(parts)
    if any(i < size and len(parts[i]) > MAX_CROWDED_SEGMENT for i in indices):
        return True
    return bool(unknown_from) and any(
        len(part) > MAX_CROWDED_SEGMENT for part in parts[unknown_from:]
    )


def _segment(
    segment: str,
    params: Sequence[re.Match[str]],
    path: str,
    convertors: Mapping[str, Convertor[Any]] | None,
    seen: dict[str, Convertor[Any]],
) -> tuple[str, str]:
    """Return the regex and the format string of one template segment, recording its params."""
    regex, fmt, pos = [], [], 0
    for match in params:
        name, kind = match[1], match[2] if match[2] is not None else "str"
        if not _IDENTIFIER.match(name):
            raise ValueError(
                f"Path parameter name {name!r} in route path {path!r} is not an identifier. "
                "Use a name such as {user_id}."
            )
        convertor = _resolve_convertor(kind, path, convertors)
        seen[name] = convertor
        literal = segment[pos : match.start()]
        regex.append(re.escape(literal) + f"(?P<{name}>{convertor.regex})")
        fmt.append(literal + "{" + name + "}")
        pos = match.end()
    regex.append(re.escape(segment[pos:]))
    fmt.append(segment[pos:])
    return "".join(regex), "".join(fmt)


def match_compiled(compiled: CompiledPath, path: str) -> tuple[dict[str, Any], str] | None:
    """Match ``path`` against one template by regex: ``(params, mount rest)`` or ``None``."""
    if (not path.isprintable() and _CONTROL.search(path)) or too_long(compiled, path.split("/")):
        return None
    found = compiled.regex.fullmatch(path)
    if found is None:
        return None
    groups = found.groupdict()
    rest = groups.pop("_mount_rest", None) or ""
    convertors = compiled.param_convertors
    if not all(convertors[key].matches(value) for key, value in groups.items()):
        return None
    return {key: convertors[key].convert(value) for key, value in groups.items()}, rest


# A placeholder of a path format: "{name}".
_PLACEHOLDER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def replace_params(
    path: str, param_convertors: Mapping[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill the ``{name}`` placeholders of a path format (Starlette's helper).

    Each value given goes through its converter's ``to_string`` and is inserted once, in one
    pass over the template: a value that looks like a placeholder (``"{id}"``) stays literal.
    A placeholder without a value stays as it is. Returns the path and ``path_params`` itself,
    emptied of the values it took.
    """

    def value(match: re.Match[str]) -> str:
        key = match[1]
        if key not in path_params or key not in param_convertors:
            return match[0]
        return param_convertors[key].to_string(path_params.pop(key))

    return _PLACEHOLDER.sub(value, path), path_params


def fill_template(compiled: CompiledPath, params: dict[str, Any]) -> str:
    """``replace_params`` over a compiled template, popping the params it takes."""
    return replace_params(compiled.path_format, compiled.param_convertors, params)[0]
