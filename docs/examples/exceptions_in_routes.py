"""Exception handlers answer inside the route: the mount's middleware sees the answer."""

from microasgi.applications import MicroASGI
from microasgi.exceptions import HTTPException
from microasgi.middleware import Middleware
from microasgi.middleware.cors import CORSMiddleware
from microasgi.requests import Request
from microasgi.responses import JSONResponse, Response
from microasgi.routing import Mount, Route


async def secret(request: Request) -> Response:
    raise HTTPException(403, detail="sign in first")


async def forbidden(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


api = Mount(
    "/api",
    routes=[Route("/secret", secret)],
    middleware=[Middleware(CORSMiddleware, allow_origins=["https://front.example"])],
)
app = MicroASGI(routes=[api], exception_handlers={403: forbidden})


from microasgi.testclient import AsyncTestClient  # noqa: E402 (imported here to read as a second step)


async def test_the_mounts_cors_headers_reach_the_handled_error() -> None:
    response = await AsyncTestClient(app).get(
        "/api/secret", headers={"Origin": "https://front.example"}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "sign in first"}
    # The browser can read the error: CORSMiddleware on the mount saw the handler's answer.
    assert response.headers["access-control-allow-origin"] == "https://front.example"
