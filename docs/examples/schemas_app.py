"""A schema endpoint in an app: routes, mounts, endpoint classes and converters, as in Starlette."""

from typing import Any

from microasgi import MicroASGI, Mount, Route
from microasgi.endpoints import HTTPEndpoint
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.schemas import SchemaGenerator

schemas = SchemaGenerator({"openapi": "3.1.0", "info": {"title": "Shop", "version": "1.0"}})


async def get_product(request: Request) -> Response:
    """
    summary: One product.
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    responses:
      200:
        description: The product.
    """
    return JSONResponse({"id": request.path_params["id"]})


class Orders(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        """
        responses:
          200:
            description: The orders.
        """
        return JSONResponse([])

    async def post(self, request: Request) -> Response:
        """Place an order (this line is prose; the YAML follows the '---' line).

        ---
        responses:
          201:
            description: The order, placed.
        """
        return JSONResponse({}, status_code=201)


async def health(request: Request) -> Response:
    """Prose only, so no operation in the schema."""
    return JSONResponse({"ok": True})


def openapi_schema(request: Request) -> Response:
    return schemas.OpenAPIResponse(request)


app = MicroASGI(
    routes=[
        Mount(
            "/api",
            routes=[
                Route("/products/{id:int}", get_product),
                Route("/orders", Orders),
            ],
        ),
        Route("/health", health),
        Route("/schema", openapi_schema, include_in_schema=False),
    ]
)


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


def test_the_schema_lists_each_documented_operation() -> None:
    paths: dict[str, Any] = schemas.get_schema(routes=app.routes)["paths"]
    assert list(paths) == ["/api/products/{id}", "/api/orders"]  # converters removed
    assert list(paths["/api/orders"]) == ["get", "post"]  # HEAD is never listed
    assert paths["/api/orders"]["post"] == {
        "responses": {201: {"description": "The order, placed."}}
    }


async def test_the_schema_endpoint() -> None:
    response = await AsyncTestClient(app).get("/schema")
    assert response.headers["content-type"] == "application/vnd.oai.openapi"
    assert "  /api/products/{id}:\n    get:\n" in response.text
    assert "/health" not in response.text
    assert "/schema" not in response.text
