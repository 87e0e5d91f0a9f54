"""The mounting example (examples/mounting.py): a Router, an app, a raw and an ASGI 2 app mounted."""

from __future__ import annotations

import pytest

from examples import mounting
from microasgi.routing import NoMatchFound
from microasgi.testclient import AsyncTestClient


@pytest.mark.parametrize("root_path", ["", "/site"])
async def test_url_for_across_mounts(root_path: str) -> None:
    async with AsyncTestClient(mounting.app, root_path=root_path) as client:
        links = (await client.get(f"{root_path}/")).json()
        base = f"http://testserver{root_path}"
        assert links == {
            "api": f"{base}/api/items/1",
            "admin": f"{base}/admin/",
            "user": f"{base}/admin/users/grace",
            "raw": f"{base}/raw/anything",
            "legacy": f"{base}/legacy/",
        }
        # Every link leads to its sub-app.
        for url in links.values():
            assert (await client.get(url.removeprefix("http://testserver"))).status_code == 200


async def test_each_kind_of_sub_app() -> None:
    async with AsyncTestClient(mounting.app, root_path="/site") as client:
        item = await client.get("/api/items/3")
        dashboard = await client.get("/admin/")
        user = await client.get("/admin/users/bo")
        raw = await client.get("/raw/x/y")
        legacy = await client.get("/legacy/")
        redirect = await client.get("/admin", follow_redirects=False)
        missing = await client.get("/api/items/x")
    # The Router's endpoint builds a URL into the admin app, from the top application's names.
    assert item.json() == {"item": 3, "owner": "http://testserver/site/admin/users/owner3"}
    # The mounted app's lifespan ran (driven by the parent) and its state reaches its requests.
    assert dashboard.json() == {"admins": ["ada"], "home": "http://testserver/site/"}
    assert user.text == "User bo"
    assert raw.text == "raw: path=/site/raw/x/y root_path=/site/raw"
    assert legacy.text == "legacy ASGI 2"
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/site/admin/")
    assert missing.status_code == 404


async def test_sub_apps_alone() -> None:
    # Each sub-app is an ASGI app of its own and works without the parent.
    assert (await AsyncTestClient(mounting.raw).get("/p")).text == "raw: path=/p root_path="
    assert (await AsyncTestClient(mounting.admin).get("/users/x")).text == "User x"
    # ... but names resolve from the outermost router: alone, the API cannot name the admin app.
    with pytest.raises(NoMatchFound, match='"admin:user"'):
        await AsyncTestClient(mounting.api).get("/items/1")
