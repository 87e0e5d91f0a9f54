"""``microasgi.schemas``: OpenAPI operations found through the routes, read from docstrings."""

from __future__ import annotations

import collections
import enum
import functools
import sys
from typing import Any, ClassVar

import pytest
import yaml

from microasgi.applications import MicroASGI
from microasgi.endpoints import HTTPEndpoint
from microasgi.requests import Request
from microasgi.responses import PlainTextResponse, Response
from microasgi.routing import BaseRoute, Host, Mount, Route, Router, WebSocketRoute
from microasgi.schemas import BaseSchemaGenerator, EndpointInfo, OpenAPIResponse, SchemaGenerator
from microasgi.staticfiles import StaticFiles
from microasgi.testclient import AsyncTestClient, TestClient
from microasgi.types import Receive, Scope, Send
from microasgi.websockets import WebSocket

INFO = {"title": "Pets", "version": "2.0"}


def list_pets(request: Request) -> Response:  # pragma: no cover (documents, never called)
    """List the pets.

    ---
    responses:
      200:
        description: Every pet.
    """
    return PlainTextResponse("")


def get_pet(request: Request) -> Response:  # pragma: no cover
    """
    summary: One pet.
    responses:
      200:
        description: The pet.
    """
    return PlainTextResponse("")


def search_pets(request: Request) -> Response:  # pragma: no cover
    """
    responses:
      200:
        description: The pets the query body selects.
    """
    return PlainTextResponse("")


def plain(request: Request) -> Response:  # pragma: no cover
    """Just prose, nothing for the schema."""
    return PlainTextResponse("")


def undocumented(request: Request) -> Response:  # pragma: no cover
    return PlainTextResponse("")


def tagged(request: Request, tag: str) -> Response:  # pragma: no cover
    """
    responses:
      204:
        description: Tagged.
    """
    return PlainTextResponse(tag)


class Owners(HTTPEndpoint):
    def get(self, request: Request) -> Response:  # pragma: no cover
        """
        responses:
          200:
            description: The owners.
        """
        return PlainTextResponse("")

    def post(self, request: Request) -> Response:  # pragma: no cover
        """
        responses:
          201:
            description: Created.
        """
        return PlainTextResponse("")

    def head(self, request: Request) -> Response:  # pragma: no cover
        """
        responses:
          200:
            description: HEAD is never an operation of its own.
        """
        return PlainTextResponse("")

    def query(self, request: Request) -> Response:  # pragma: no cover
        """
        responses:
          200:
            description: Owners by query.
        """
        return PlainTextResponse("")


class Handlers:
    def show(self, request: Request) -> Response:  # pragma: no cover
        """
        responses:
          200:
            description: A bound method.
        """
        return PlainTextResponse("")


class AppWithOptions:
    """An ASGI app class with an ``options`` setting that is not a method."""

    options: ClassVar[dict[str, bool]] = {"verbose": True}
    get = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
        pass

    def __await__(self) -> Any:  # pragma: no cover
        yield


async def chat(websocket: WebSocket) -> None:  # pragma: no cover
    """
    responses:
      101:
        description: Never listed: websockets have no operations.
    """


class Custom(BaseRoute):
    """A route of a kind the generator does not know: left out."""

    endpoint = staticmethod(get_pet)


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
    pass


def schema_endpoint(request: Request) -> Response:
    return SchemaGenerator({"openapi": "3.2.0", "info": INFO}).OpenAPIResponse(request)


ROUTES: list[BaseRoute] = [
    Route("/pets", list_pets, methods=["GET", "HEAD"]),
    Route("/pets", search_pets, methods=["QUERY"]),
    Route("/pets/{id:int}", get_pet),
    Route("/owners", Owners),
    Route("/plain", plain),
    Route("/undocumented", undocumented),
    Route("/hidden", get_pet, include_in_schema=False),
    Route("/schema", schema_endpoint, include_in_schema=False),
    WebSocketRoute("/chat", chat),
    Custom(),
    Mount(
        "/v1/{version:str}",
        routes=[Mount("/zoo", routes=[Route("/pets/{name:path}", get_pet, name="zoo_pet")])],
    ),
    Mount("/sub", MicroASGI(routes=[Route("/", list_pets)])),
    Mount("/static", StaticFiles(directory=".", check_dir=False)),
    Mount("/raw", raw_app),
    Host("{tenant}.example.org", Router([Mount("/t", routes=[Route("/pet", get_pet)])])),
]

PETS_LIST = {"responses": {200: {"description": "Every pet."}}}
PET = {"summary": "One pet.", "responses": {200: {"description": "The pet."}}}


# --- get_endpoints ----------------------------------------------------------------------------


def test_endpoints_are_found_through_routes_mounts_and_hosts() -> None:
    found = BaseSchemaGenerator().get_endpoints(ROUTES)
    assert [(e.path, e.http_method, e.func) for e in found] == [
        ("/pets", "get", list_pets),  # HEAD, implied or declared, is left out
        ("/pets", "query", search_pets),
        ("/pets/{id}", "get", get_pet),
        ("/owners", "get", Owners.get),
        ("/owners", "post", Owners.post),
        ("/owners", "query", Owners.query),
        ("/plain", "get", plain),
        ("/undocumented", "get", undocumented),
        ("/v1/{version}/zoo/pets/{name}", "get", get_pet),
        ("/sub/", "get", list_pets),
        ("/t/pet", "get", get_pet),
    ]
    assert all(isinstance(e, EndpointInfo) for e in found)


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        (None, ["get"]),
        (["POST", "GET"], ["get", "post"]),
        (
            ["delete", "purge", "PATCH", "options", "put", "lock"],
            ["put", "patch", "delete", "options", "lock", "purge"],
        ),
        (["HEAD"], []),
    ],
)
def test_a_function_gives_one_operation_per_method_in_a_fixed_order(
    methods: list[str] | None, expected: list[str]
) -> None:
    route = Route("/", get_pet, methods=methods)
    found = BaseSchemaGenerator().get_endpoints([route])
    assert [e.http_method for e in found] == expected


def test_a_route_without_methods_counts_as_get() -> None:
    # A Route subclass may leave methods unset for a function: Starlette reads that as GET.
    route = Route("/", get_pet)
    route.methods = None
    assert BaseSchemaGenerator().get_endpoints([route]) == [EndpointInfo("/", "get", get_pet)]


def test_partials_and_bound_methods_are_described_by_their_function() -> None:
    partial = functools.partial(tagged, tag="cats")
    nested = functools.partial(partial)
    bound = Handlers().show
    found = BaseSchemaGenerator().get_endpoints(
        [Route("/a", partial), Route("/b", nested), Route("/c", bound, methods=["PUT"])]
    )
    assert found == [
        EndpointInfo("/a", "get", tagged),
        EndpointInfo("/b", "get", tagged),
        EndpointInfo("/c", "put", bound),
    ]


def test_a_class_lists_only_methods_its_route_allows() -> None:
    found = BaseSchemaGenerator().get_endpoints([Route("/owners", Owners, methods=["POST"])])
    assert found == [EndpointInfo("/owners", "post", Owners.post)]


def test_attributes_that_are_not_methods_are_not_operations() -> None:
    assert BaseSchemaGenerator().get_endpoints([Route("/app", AppWithOptions)]) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/users/{id:int}", "/users/{id}"),
        ("/files/{rest:path}", "/files/{rest}"),
        ("/{a:int}/{b}/{c:uuid}.{ext:str}", "/{a}/{b}/{c}.{ext}"),
        ("/plain", "/plain"),
    ],
)
def test_converters_are_removed_from_paths(path: str, expected: str) -> None:
    assert BaseSchemaGenerator().get_endpoints([Route(path, get_pet)])[0].path == expected


def test_paths_are_read_before_a_router_binds_its_converters() -> None:
    # "slug" is known only to a router that is not built yet: path_format would raise.
    route = Route("/posts/{title:slug}", get_pet)
    assert BaseSchemaGenerator().get_endpoints([route])[0].path == "/posts/{title}"


# --- parse_docstring --------------------------------------------------------------------------


def _documented(doc: str | None) -> Any:
    def endpoint(request: Request) -> None:  # pragma: no cover
        pass

    endpoint.__doc__ = doc
    return endpoint


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, {}),
        ("", {}),
        ("Prose only.", {}),
        ("- a markdown\n- list of notes", {}),  # a list, but no '---': an ordinary docstring
        ("summary: Found.", {"summary": "Found."}),
        ("Prose.\n\n---\nsummary: After.", {"summary": "After."}),
        ("Prose.\n    ---   \n    summary: Indented.\n", {"summary": "Indented."}),
        ("One\n---\nTwo\n---\nsummary: The last.", {"summary": "The last."}),
        ("Prose.\r\n---\r\nsummary: CRLF.\r\n", {"summary": "CRLF."}),
        ("Prose.\n---\n", {}),  # nothing after the line: no operation, as Starlette
        ("summary: a --- b", {"summary": "a --- b"}),  # inside a value: not a separator
        ("Heading\n----\nFour dashes do not separate.", {}),  # one YAML string
        (
            "---\nresponses:\n  200:\n    description: OK.",
            {"responses": {200: {"description": "OK."}}},
        ),
    ],
)
def test_docstrings_parse_to_operations(doc: str | None, expected: dict[str, Any]) -> None:
    assert BaseSchemaGenerator().parse_docstring(_documented(doc)) == expected


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        ("Prose.\n---\nMore prose, not a schema.", "str"),
        ("Prose.\n---\n- responses\n- tags", "list"),
        ("---\n42", "int"),
    ],
)
def test_yaml_after_the_separator_that_is_not_a_mapping_is_an_error(doc: str, kind: str) -> None:
    endpoint = _documented(doc)
    with pytest.raises(ValueError, match=r"must be a mapping") as info:
        BaseSchemaGenerator().parse_docstring(endpoint)
    message = str(info.value)
    assert f"got {kind}:" in message
    assert f"{__name__}._documented.<locals>.endpoint" in message
    assert "remove the '---' line" in message


def test_the_error_names_a_callable_without_a_qualified_name() -> None:
    class Endpoint:
        """---
        [not, a, mapping]
        """

        def __call__(self, request: Request) -> None:  # pragma: no cover
            pass

        def __repr__(self) -> str:
            return "<the endpoint>"

    with pytest.raises(ValueError, match="docstring of <the endpoint> must be a mapping"):
        BaseSchemaGenerator().parse_docstring(Endpoint())


def test_the_error_names_a_function_without_a_module() -> None:
    endpoint = _documented("---\n[1]")
    endpoint.__module__ = None
    with pytest.raises(ValueError, match=r"docstring of _documented\.<locals>\.endpoint must"):
        BaseSchemaGenerator().parse_docstring(endpoint)


def test_malformed_yaml_raises_with_a_note_naming_the_endpoint() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        BaseSchemaGenerator().parse_docstring(_documented("---\nresponses: [unclosed"))
    (note,) = info.value.__notes__
    assert "_documented.<locals>.endpoint" in note
    assert "'---'" in note


def test_python_tags_are_refused_not_run(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    doc = f"---\nsummary: !!python/object/apply:os.mkdir [{str(marker)!r}]"
    with pytest.raises(yaml.constructor.ConstructorError):
        BaseSchemaGenerator().parse_docstring(_documented(doc))
    assert not marker.exists()


def test_without_pyyaml_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    generator = BaseSchemaGenerator()
    assert generator.parse_docstring(_documented(None)) == {}  # no docstring: no YAML needed
    with pytest.raises(ImportError, match=r"pip install 'microasgi\[schemas\]'") as info:
        generator.parse_docstring(list_pets)
    assert isinstance(info.value, AssertionError)  # what Starlette's assert raises
    with pytest.raises(AssertionError, match="OpenAPIResponse needs PyYAML"):
        OpenAPIResponse({"openapi": "3.1.0"})


# --- get_schema -------------------------------------------------------------------------------


def test_the_schema_holds_every_documented_operation() -> None:
    schema = SchemaGenerator({"openapi": "3.2.0", "info": INFO}).get_schema(routes=ROUTES)
    assert schema == {
        "openapi": "3.2.0",
        "info": INFO,
        "paths": {
            "/pets": {
                "get": PETS_LIST,
                "query": {"responses": {200: {"description": "The pets the query body selects."}}},
            },
            "/pets/{id}": {"get": PET},
            "/owners": {
                "get": {"responses": {200: {"description": "The owners."}}},
                "post": {"responses": {201: {"description": "Created."}}},
                "query": {"responses": {200: {"description": "Owners by query."}}},
            },
            "/v1/{version}/zoo/pets/{name}": {"get": PET},
            "/sub/": {"get": PETS_LIST},
            "/t/pet": {"get": PET},
        },
    }


@pytest.mark.parametrize(
    ("version", "has_query"),
    [
        ("3.2.0", True),
        ("3.10.1", True),
        ("4.0", True),
        (3.2, True),
        ("3.1.1", False),
        ("3.0.3", False),
        ("three", False),
        (None, False),
    ],
)
def test_query_operations_need_openapi_3_2(version: Any, has_query: bool) -> None:
    base = {"info": INFO} if version is None else {"openapi": version, "info": INFO}
    paths = SchemaGenerator(base).get_schema(routes=ROUTES)["paths"]
    assert ("query" in paths["/pets"]) is has_query
    assert ("query" in paths["/owners"]) is has_query
    assert "get" in paths["/pets"]


def test_the_base_schema_is_kept_and_never_modified() -> None:
    base: dict[str, Any] = {
        "openapi": "3.1.0",
        "paths": {"/pets": {"delete": {"summary": "Hand-written."}}, "/health": {}},
        "info": INFO,
    }
    generator = SchemaGenerator(base)
    first = generator.get_schema(routes=[Route("/pets", list_pets)])
    assert list(first) == ["openapi", "paths", "info"]
    assert first["paths"] == {
        "/pets": {"delete": {"summary": "Hand-written."}, "get": PETS_LIST},
        "/health": {},
    }
    assert base["paths"] == {"/pets": {"delete": {"summary": "Hand-written."}}, "/health": {}}
    second = generator.get_schema(routes=[Route("/pets/{id:int}", get_pet)])
    assert second["paths"] == {
        "/pets": {"delete": {"summary": "Hand-written."}},
        "/health": {},
        "/pets/{id}": {"get": PET},
    }


def test_a_later_route_for_the_same_operation_replaces_the_earlier_one() -> None:
    # As Starlette: operations are written in route order.
    schema = SchemaGenerator({}).get_schema(routes=[Route("/x", list_pets), Route("/x", get_pet)])
    assert schema == {"paths": {"/x": {"get": PET}}}


@pytest.mark.parametrize("paths", [None, ["/pets"], {"/pets": None}, {"/pets": ["get"]}])
def test_base_paths_that_are_not_mappings_are_refused(paths: Any) -> None:
    with pytest.raises(TypeError, match=r"'paths' must map each path to a dict of operations"):
        SchemaGenerator({"paths": paths}).get_schema(routes=ROUTES)


def test_the_base_class_leaves_get_schema_to_subclasses() -> None:
    class Mine(BaseSchemaGenerator):
        pass

    with pytest.raises(NotImplementedError, match=r"Mine does not implement get_schema"):
        Mine().get_schema(routes=ROUTES)


# --- OpenAPIResponse --------------------------------------------------------------------------

EXPECTED_YAML = """\
info:
  title: Pets
  version: '2.0'
openapi: 3.2.0
paths:
  /owners:
    get:
      responses:
        200:
          description: The owners.
    post:
      responses:
        201:
          description: Created.
    query:
      responses:
        200:
          description: Owners by query.
  /pets:
    get:
      responses:
        200:
          description: Every pet.
    query:
      responses:
        200:
          description: The pets the query body selects.
  /pets/{id}:
    get:
      responses:
        200:
          description: The pet.
      summary: One pet.
  /sub/:
    get:
      responses:
        200:
          description: Every pet.
  /t/pet:
    get:
      responses:
        200:
          description: The pet.
      summary: One pet.
  /v1/{version}/zoo/pets/{name}:
    get:
      responses:
        200:
          description: The pet.
      summary: One pet.
"""


async def test_the_schema_endpoint_answers_yaml() -> None:
    client = AsyncTestClient(MicroASGI(routes=ROUTES))
    response = await client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi"
    assert response.text == EXPECTED_YAML
    assert yaml.safe_load(response.text) == SchemaGenerator(
        {"openapi": "3.2.0", "info": INFO}
    ).get_schema(routes=ROUTES)


def test_the_schema_endpoint_with_the_sync_client() -> None:
    with TestClient(MicroASGI(routes=ROUTES)) as client:
        assert client.get("/schema").text == EXPECTED_YAML


async def test_the_schema_endpoint_needs_an_app_in_the_scope() -> None:
    client = AsyncTestClient(Router([Route("/schema", schema_endpoint)]))
    with pytest.raises(RuntimeError, match=r"needs the app serving the request, in scope\['app'\]"):
        await client.get("/schema")


class Color(str, enum.Enum):  # noqa: UP042 (what StrEnum is made of, written out)
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


def test_the_response_writes_python_containers_and_enums_as_plain_yaml() -> None:
    schema = {
        "b": ("x", Color.RED),
        "a": collections.OrderedDict(z=Size.LARGE, y=1.5, w=[True, None]),
        "c": "é",
    }
    body = bytes(OpenAPIResponse(schema).body)
    assert body == (b'a:\n  w:\n  - true\n  - null\n  y: 1.5\n  z: 3\nb:\n- x\n- red\nc: "\\xE9"\n')
    assert yaml.safe_load(body) == {
        "a": {"w": [True, None], "y": 1.5, "z": 3},
        "b": ["x", "red"],
        "c": "é",
    }


def test_the_response_refuses_what_is_not_plain_data() -> None:
    with pytest.raises(yaml.representer.RepresenterError) as info:
        OpenAPIResponse({"when": object()})
    assert "plain data" in info.value.__notes__[0]


@pytest.mark.parametrize("content", [None, ["openapi"], "openapi: 3.1.0"])
def test_the_response_needs_a_dict(content: Any) -> None:
    with pytest.raises(TypeError, match=r"OpenAPIResponse needs the schema as a dict") as info:
        OpenAPIResponse(content)
    assert isinstance(info.value, AssertionError)  # what Starlette's assert raises
