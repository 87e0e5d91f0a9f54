"""OpenAPI schemas from the routes and the YAML in endpoint docstrings (the ``schemas`` extra).

``SchemaGenerator`` keeps Starlette's names, signatures and output: it walks ``Route``, ``Mount``
and ``Host``, takes each endpoint's docstring after a ``---`` line as the YAML of its operation,
and ``OpenAPIResponse`` sends the schema as YAML. PyYAML is imported when a docstring is parsed
or a schema rendered, so this module imports without it; using it without PyYAML raises an
``ImportError`` naming the extra to install (``pip install 'microasgi[schemas]'``).

Where Starlette's results are wrong or silent, this module differs (docs/schemas.md lists it all):
``---`` separates only as a line of its own; YAML after it that is not a mapping raises instead
of vanishing; a YAML error names the endpoint; the base schema is never modified; a class
endpoint lists only the methods its route allows; partials are listed like functions.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from microasgi.requests import Request
from microasgi.responses import Response
from microasgi.routing import BaseRoute, Host, Mount, Route

if TYPE_CHECKING:
    import yaml

__all__ = ["BaseSchemaGenerator", "EndpointInfo", "OpenAPIResponse", "SchemaGenerator"]

# Starlette's list and order: HEAD is the GET answer without a body, never an operation of its
# own; QUERY is listed only for OpenAPI 3.2 and later (SchemaGenerator.get_schema).
_CLASS_METHODS = ("get", "post", "put", "patch", "delete", "options", "query")
_RANK = {method: rank for rank, method in enumerate(_CLASS_METHODS)}
# A parameter with a converter, as the router's own template parser reads one
# (microasgi._sansio.paths): "{id:int}" -> "{id}".
_CONVERTER = re.compile(r"{([^{}:]*):[^{}]*}")
_SEPARATOR = re.compile(r"^[ \t]*---[ \t]*\r?$", re.MULTILINE)
_VERSION = re.compile(r"^(\d+)\.(\d+)")


class _MissingPyYAML(ImportError, AssertionError):
    """PyYAML is not installed: an ``ImportError``, and the ``AssertionError`` Starlette raises
    (it ``assert``s), so code written for either catches it."""


class _NotASchema(TypeError, AssertionError):
    """``OpenAPIResponse`` content that is not a dict: a ``TypeError``, and Starlette's
    ``AssertionError``."""


def _missing_pyyaml(user: str) -> _MissingPyYAML:
    return _MissingPyYAML(
        f"{user} needs PyYAML, which is not installed. Install the schemas extra: "
        "pip install 'microasgi[schemas]' (or pip install pyyaml)."
    )


def _name(func: Callable[..., Any]) -> str:
    qualname = getattr(func, "__qualname__", None)
    if qualname is None:
        return repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else str(qualname)


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """A safe dumper that also writes tuples, and subclasses of dict, list, str, int and float
    (``OrderedDict``, a ``StrEnum``), as the plain YAML they stand for.

    Starlette's ``yaml.dump`` writes those with Python tags (``!!python/tuple``), which no OpenAPI
    tool reads; anything else that is not plain data raises ``RepresenterError`` here.
    """
    import yaml

    class OpenAPIDumper(yaml.SafeDumper):
        pass

    def as_plain(
        convert: Callable[[Any], Any], represent: Callable[[Any, Any], yaml.Node]
    ) -> Callable[[yaml.SafeDumper, Any], yaml.Node]:
        return lambda dumper, data: represent(dumper, convert(data))

    safe = yaml.representer.SafeRepresenter
    OpenAPIDumper.add_multi_representer(dict, as_plain(dict, safe.represent_dict))
    OpenAPIDumper.add_multi_representer(list, as_plain(list, safe.represent_list))
    OpenAPIDumper.add_multi_representer(tuple, as_plain(list, safe.represent_list))
    # str.__str__ and int(): a StrEnum member's value, not "Color.RED".
    OpenAPIDumper.add_multi_representer(str, as_plain(str.__str__, safe.represent_str))
    OpenAPIDumper.add_multi_representer(int, as_plain(int, safe.represent_int))
    OpenAPIDumper.add_multi_representer(float, as_plain(float, safe.represent_float))
    return OpenAPIDumper


class OpenAPIResponse(Response):
    """A schema (a ``dict``) sent as YAML, ``Content-Type: application/vnd.oai.openapi``.

    Raises:
        TypeError: the content is not a ``dict`` (also an ``AssertionError``, as Starlette's).
        ImportError: PyYAML is not installed (also an ``AssertionError``, as Starlette's).
        yaml.representer.RepresenterError: the schema holds a value that is not plain data.
    """

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        """Dump ``content`` as block-style YAML with sorted keys, as Starlette does."""
        if not isinstance(content, dict):
            raise _NotASchema(
                f"OpenAPIResponse needs the schema as a dict, got {type(content).__name__}: "
                f"{content!r:.80}. Pass what SchemaGenerator.get_schema() returns."
            )
        try:
            import yaml
        except ImportError as exc:
            raise _missing_pyyaml("OpenAPIResponse") from exc
        try:
            text: str = yaml.dump(content, Dumper=_dumper(), default_flow_style=False)
        except yaml.representer.RepresenterError as exc:
            exc.add_note(
                "(OpenAPIResponse writes plain data: dicts, lists, tuples, strings, numbers, "
                "booleans and None; convert other values before building the schema)"
            )
            raise
        return text.encode("utf-8")


class EndpointInfo(NamedTuple):
    """One operation: its path (converters removed), lowercase method, and the function whose
    docstring describes it."""

    path: str
    http_method: str
    func: Callable[..., Any]


class BaseSchemaGenerator:
    """What schema generators share: finding the endpoints, reading their docstrings, and an
    endpoint that serves the schema. Subclasses implement ``get_schema``."""

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        """Build the schema of ``routes``.

        Raises:
            NotImplementedError: always; subclasses implement it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_schema(routes). Use "
            "SchemaGenerator(base_schema), or implement get_schema in your subclass."
        )

    def get_endpoints(self, routes: list[BaseRoute]) -> list[EndpointInfo]:
        """List the operations of ``routes``, in declaration order.

        ``Mount`` prefixes join the paths of the routes below them; a ``Host`` adds nothing to
        the path. A route with ``include_in_schema=False``, a websocket route and any other kind
        of route are left out. A function endpoint gives one operation per method of its route
        (``HEAD`` excluded); an endpoint class (``HTTPEndpoint``) one per ``get``, ``post``,
        ``put``, ``patch``, ``delete``, ``options`` and ``query`` method it defines (those its
        route's ``methods=`` allow, if given).
        """
        found: list[EndpointInfo] = []
        for route in routes:
            if isinstance(route, Mount | Host):
                prefix = self._remove_converter(route.path) if isinstance(route, Mount) else ""
                for inner in self.get_endpoints(route.routes or []):
                    found.append(EndpointInfo(prefix + inner.path, inner.http_method, inner.func))
            elif isinstance(route, Route) and route.include_in_schema:
                found.extend(self._route_endpoints(route))
        return found

    def _route_endpoints(self, route: Route) -> list[EndpointInfo]:
        path = self._remove_converter(route.path)
        handler = route.endpoint
        while isinstance(handler, functools.partial):
            handler = handler.func
        if inspect.isfunction(handler) or inspect.ismethod(handler):
            # A partial is described by the function it wraps (its own __doc__ is partial's).
            # Starlette leaves partials out; its router serves them like functions, as ours does.
            methods = sorted(
                {method.lower() for method in route.methods or ("GET",)} - {"head"},
                key=lambda method: (_RANK.get(method, len(_RANK)), method),
            )
            func = route.endpoint if handler is route.endpoint else handler
            return [EndpointInfo(path, method, func) for method in methods]
        allowed = route.methods
        found = []
        for method in _CLASS_METHODS:
            attribute = getattr(route.endpoint, method, None)
            # Unlike Starlette, a method the route refuses (405) is not listed, nor an
            # attribute that is not a method (an ASGI app's "options" setting).
            if callable(attribute) and (allowed is None or method.upper() in allowed):
                found.append(EndpointInfo(path, method, attribute))
        return found

    def _remove_converter(self, path: str) -> str:
        """Remove the converters from a route path: ``/users/{id:int}`` -> ``/users/{id}``."""
        # Read from the text, not from route.path_format: a converter given to
        # Router(convertors=...) is bound only when that router is built, and a schema may be
        # asked of routes before (a list of routes given to get_schema directly).
        return _CONVERTER.sub(r"{\1}", path)

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """The operation described by the YAML in a docstring, or ``{}`` for none.

        The YAML is what follows the last line holding only ``---`` (text before it is an
        ordinary docstring), or the whole docstring when there is no such line. Without a
        ``---`` line, a docstring that is not a YAML mapping (plain prose) describes nothing,
        as in Starlette.

        Raises:
            ValueError: the YAML after a ``---`` line is not a mapping (Starlette returns
                ``{}``, which leaves the operation out of the schema without a word).
            yaml.YAMLError: the YAML is malformed, or holds a tag of a Python object: it is
                loaded safely, and a note names the endpoint.
            ImportError: PyYAML is not installed (also an ``AssertionError``, as Starlette's).
        """
        docstring = func_or_method.__doc__
        if not docstring:
            return {}
        try:
            import yaml
        except ImportError as exc:
            raise _missing_pyyaml("parse_docstring") from exc
        # SPEC: Starlette splits at the last "---" anywhere, even inside a YAML value
        # ("description: a --- b"); only a line of its own separates here.
        *before, text = _SEPARATOR.split(docstring)
        try:
            # SECURITY: safe_load builds plain data only; a "!!python/object" tag is an error.
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            exc.add_note(
                f"(in the OpenAPI YAML of the docstring of {_name(func_or_method)}: put the "
                "operation after a line holding only '---', as valid YAML)"
            )
            raise
        if isinstance(parsed, dict):
            return parsed
        if parsed is None or not before:
            return {}
        raise ValueError(
            f"The YAML after '---' in the docstring of {_name(func_or_method)} must be a mapping "
            f"of the operation's fields, got {type(parsed).__name__}: {parsed!r:.80}. Write it "
            "as 'responses:' and the like, indented alike, or remove the '---' line if the "
            "docstring holds no schema."
        )

    def OpenAPIResponse(self, request: Request) -> Response:
        """An endpoint answering the schema of the app serving ``request``:
        ``Route("/schema", schemas.OpenAPIResponse, include_in_schema=False)``.

        Raises:
            RuntimeError: the request's scope has no app with routes (a bare router or route
                serves it); call ``get_schema(routes)`` and return ``OpenAPIResponse(schema)``.
        """
        routes = getattr(request.scope.get("app"), "routes", None)
        if routes is None:
            raise RuntimeError(
                "The schema endpoint needs the app serving the request, in scope['app'], and "
                "its routes; none is there. Serve it from a MicroASGI app, or write an endpoint "
                "returning OpenAPIResponse(schemas.get_schema(routes))."
            )
        return OpenAPIResponse(self.get_schema(routes=routes))


class SchemaGenerator(BaseSchemaGenerator):
    """An OpenAPI schema: ``base_schema`` (``openapi``, ``info`` ...) with a ``paths`` entry for
    every endpoint whose docstring describes it.

    ``query`` operations are included only when ``base_schema["openapi"]`` is 3.2 or later (the
    version that defines them), as in Starlette.
    """

    def __init__(self, base_schema: dict[str, Any]) -> None:
        self.base_schema = base_schema

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        """Build the schema: a copy of the base schema, its ``paths`` completed from ``routes``.

        Raises:
            TypeError: the base schema's ``paths`` is not a mapping of mappings.
        """
        schema = dict(self.base_schema)
        base_paths = schema.get("paths", {})
        if not isinstance(base_paths, Mapping) or not all(
            isinstance(item, Mapping) for item in base_paths.values()
        ):
            raise TypeError(
                f"The base schema's 'paths' must map each path to a dict of operations, got "
                f"{base_paths!r:.80}. Use {{'/users': {{'get': {{...}}}}}}, or leave 'paths' out."
            )
        # Unlike Starlette, copied: adding the routes' operations leaves base_schema as it was.
        paths = {path: dict(item) for path, item in base_paths.items()}
        schema["paths"] = paths
        version = _VERSION.match(str(schema.get("openapi", "")))
        has_query = version is not None and (int(version[1]), int(version[2])) >= (3, 2)
        for endpoint in self.get_endpoints(routes):
            if endpoint.http_method == "query" and not has_query:
                continue
            operation = self.parse_docstring(endpoint.func)
            if operation:
                paths.setdefault(endpoint.path, {})[endpoint.http_method] = operation
        return schema
