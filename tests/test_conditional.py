"""``conditional_response`` and ``precondition_response``: 304 and 412 for built responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from microasgi.background import BackgroundTask
from microasgi.requests import Request
from microasgi.responses import (
    JSONResponse,
    Response,
    StreamingResponse,
    conditional_response,
    precondition_response,
)
from microasgi.routing import Route, Router
from microasgi.testclient import AsyncTestClient

BODY = {"id": 1, "name": "café"}
MODIFIED = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
EARLIER = "Sat, 05 Nov 1994 08:49:37 GMT"
LATER = "Mon, 07 Nov 1994 08:49:37 GMT"
EXTRA = {
    "cache-control": "max-age=60",
    "content-location": "/items/1",
    "date": LATER,
    "expires": LATER,
    "vary": "accept",
    "x-custom": "dropped on 304",
}


def client_for(make: Any, methods: list[str] | None = None) -> AsyncTestClient:
    async def endpoint(request: Request) -> Response:
        return make(request)  # type: ignore[no-any-return]

    methods = methods or ["GET", "POST", "PUT", "DELETE"]
    return AsyncTestClient(Router([Route("/", endpoint, methods=methods)]))


def json_etag() -> str:
    return str(conditional_response(fake(), JSONResponse(BODY)).headers["etag"])


def make_request(method: str = "GET", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.encode(), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": method, "path": "/", "headers": raw})


def fake(method: str = "GET", **headers: str) -> Request:
    return make_request(method, {k.replace("_", "-"): v for k, v in headers.items()})


# --- validators ---------------------------------------------------------------------------------


async def test_without_conditions_the_response_gets_a_body_hash_etag() -> None:
    client = client_for(lambda request: conditional_response(request, JSONResponse(BODY)))
    first, second = await client.get("/"), await client.get("/")
    assert first.status_code == 200
    assert first.json() == BODY
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) == 34
    assert second.headers["etag"] == etag  # equal bodies, equal tags
    other = conditional_response(fake(), JSONResponse({"id": 2}))
    assert other.headers["etag"] != etag
    assert conditional_response(fake(), JSONResponse(BODY), weak=True).headers["etag"] == (
        "W/" + etag
    )


@pytest.mark.parametrize(
    ("given", "weak", "sent"),
    [
        ("v1", False, '"v1"'),
        ('"v1"', False, '"v1"'),
        ('W/"v1"', False, 'W/"v1"'),
        ("v1", True, 'W/"v1"'),
        ('"v1"', True, 'W/"v1"'),
        ("W/v1", False, '"W/v1"'),
        ('""', False, '""'),
        ("r\xe9v", False, '"r\xe9v"'),  # obs-text is allowed
    ],
)
def test_given_etags_are_quoted_and_weakened(given: str, weak: bool, sent: str) -> None:
    response = conditional_response(fake(), JSONResponse(BODY), etag=given, weak=weak)
    assert response.raw_headers[-1] == (b"etag", sent.encode("latin-1"))


@pytest.mark.parametrize("bad", ["", "a b", 'a"b', '"a"b"', 'W/"', "\x7f", "tab\t", "€"])
def test_invalid_etags_are_refused_with_the_fix(bad: str) -> None:
    with pytest.raises(ValueError, match=r"is not an entity-tag: use visible ASCII"):
        conditional_response(fake(), JSONResponse(BODY), etag=bad)
    with pytest.raises(ValueError, match=r"is not an entity-tag"):
        precondition_response(fake(), etag=bad)


def test_an_etag_and_last_modified_in_the_headers_are_used() -> None:
    headers = {"etag": '"mine"', "last-modified": DATE}
    response = JSONResponse(BODY, headers=headers)
    assert conditional_response(fake(if_none_match='"mine"'), response).status_code == 304
    response = JSONResponse(BODY, headers={"last-modified": DATE})
    answer = conditional_response(fake(if_modified_since=DATE), response)
    assert answer.status_code == 304
    assert answer.headers["etag"] == json_etag()
    # Arguments win over the headers.
    response = JSONResponse(BODY, headers=headers)
    answer = conditional_response(fake(), response, etag="v2", last_modified=0)
    assert answer.headers.getlist("etag") == ['"v2"']
    assert answer.headers.getlist("last-modified") == ["Thu, 01 Jan 1970 00:00:00 GMT"]


@pytest.mark.parametrize(
    "value",
    [
        MODIFIED,
        MODIFIED.astimezone(timezone(timedelta(hours=5))),
        MODIFIED.timestamp(),
        MODIFIED.timestamp() + 0.999,  # HTTP-dates have whole seconds
        int(MODIFIED.timestamp()),
    ],
)
def test_last_modified_is_an_aware_datetime_or_a_timestamp(value: datetime | float) -> None:
    response = conditional_response(fake(), JSONResponse(BODY), last_modified=value)
    assert response.headers["last-modified"] == DATE
    assert (
        conditional_response(
            fake(if_modified_since=DATE), JSONResponse(BODY), last_modified=value
        ).status_code
        == 304
    )


def test_a_naive_datetime_is_refused() -> None:
    naive = datetime(2020, 1, 1)  # the mistake under test
    with pytest.raises(ValueError, match=r"timezone-aware datetime, got the naive .*timezone.utc"):
        conditional_response(fake(), JSONResponse(BODY), last_modified=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        precondition_response(fake(), last_modified=naive)


# --- If-None-Match and If-Modified-Since --------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_none_match_gives_a_304_with_the_headers_rfc_9110_keeps(method: str) -> None:
    ran: list[str] = []

    def make(request: Request) -> Response:
        response = JSONResponse(BODY, headers=EXTRA, background=BackgroundTask(ran.append, "x"))
        response.set_cookie("seen", "1")
        return conditional_response(request, response, last_modified=MODIFIED)

    client = client_for(make, ["GET"])
    response = await client.request(method, "/", headers={"if-none-match": json_etag()})
    assert response.status_code == 304
    assert response.content == b""
    kept = {name for name, _ in response.headers.items()}
    assert kept == {*EXTRA} - {"x-custom"} | {"etag", "last-modified", "set-cookie"}
    assert response.headers["etag"] == json_etag()
    assert response.headers["last-modified"] == DATE
    assert response.headers["set-cookie"].startswith("seen=1;")
    assert ran == ["x"]  # the response's background task still runs


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ("*", 304),
        ('"other", {tag}', 304),
        ("W/{tag}", 304),  # weak comparison
        ('"other"', 200),
        ("garbage", 200),
    ],
)
def test_if_none_match_uses_weak_comparison(field: str, status: int) -> None:
    tag = json_etag()
    request = fake(if_none_match=field.format(tag=tag))
    assert conditional_response(request, JSONResponse(BODY)).status_code == status
    weak = conditional_response(request, JSONResponse(BODY), weak=True)
    assert weak.status_code == status


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_if_none_match_on_other_methods_gives_412(method: str) -> None:
    request = fake(method, if_none_match="*")
    answer = conditional_response(request, JSONResponse(BODY))
    assert answer.status_code == 412
    assert answer.raw_headers == [(b"content-length", b"0")]
    # If-Modified-Since only applies to GET and HEAD.
    request = fake(method, if_modified_since=LATER)
    answer = conditional_response(request, JSONResponse(BODY), last_modified=MODIFIED)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("since", "status"), [(DATE, 304), (LATER, 304), (EARLIER, 200), ("not a date", 200)]
)
def test_if_modified_since(since: str, status: int) -> None:
    answer = conditional_response(
        fake(if_modified_since=since), JSONResponse(BODY), last_modified=MODIFIED
    )
    assert answer.status_code == status


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    request = fake(if_none_match='"other"', if_modified_since=LATER)
    answer = conditional_response(request, JSONResponse(BODY), last_modified=MODIFIED)
    assert answer.status_code == 200
    request = fake(if_none_match=json_etag(), if_modified_since=EARLIER)
    answer = conditional_response(request, JSONResponse(BODY), last_modified=MODIFIED)
    assert answer.status_code == 304


# --- If-Match and If-Unmodified-Since -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "weak", "status"),
    [
        ("*", False, 200),
        ("{tag}", False, 200),
        ('"a", {tag}', False, 200),
        ('"other"', False, 412),
        ("W/{tag}", False, 412),  # strong comparison: a weak tag never matches
        ("{tag}", True, 412),
        ("W/{tag}", True, 412),
        ("*", True, 200),
    ],
)
async def test_if_match_uses_strong_comparison(field: str, weak: bool, status: int) -> None:
    tag = json_etag()

    def make(request: Request) -> Response:
        response = JSONResponse(BODY)
        response.set_cookie("seen", "1")
        return conditional_response(request, response, weak=weak)

    response = await client_for(make).put("/", headers={"if-match": field.format(tag=tag)})
    assert response.status_code == status
    if status == 412:
        assert response.content == b""
        assert "etag" not in response.headers
        assert response.headers["set-cookie"].startswith("seen=1;")
    else:
        assert response.json() == BODY


@pytest.mark.parametrize(
    ("since", "status"), [(DATE, 200), (LATER, 200), (EARLIER, 412), ("not a date", 200)]
)
def test_if_unmodified_since(since: str, status: int) -> None:
    for method in ("GET", "POST"):
        answer = conditional_response(
            fake(method, if_unmodified_since=since), JSONResponse(BODY), last_modified=MODIFIED
        )
        assert answer.status_code == status


def test_if_match_takes_precedence_over_if_unmodified_since() -> None:
    request = fake("PUT", if_match=json_etag(), if_unmodified_since=EARLIER)
    answer = conditional_response(request, JSONResponse(BODY), last_modified=MODIFIED)
    assert answer.status_code == 200
    request = fake("PUT", if_match='"other"', if_unmodified_since=LATER)
    answer = conditional_response(request, JSONResponse(BODY), last_modified=MODIFIED)
    assert answer.status_code == 412


def test_a_412_wins_over_a_304() -> None:
    request = fake(if_match='"other"', if_none_match="*")
    assert conditional_response(request, JSONResponse(BODY)).status_code == 412


# --- what is left alone -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [201, 204, 206])
def test_other_2xx_statuses_are_conditional(status: int) -> None:
    answer = conditional_response(fake(if_none_match="*"), Response(b"x", status_code=status))
    assert answer.status_code == 304


@pytest.mark.parametrize("status", [301, 404, 500])
def test_non_2xx_responses_come_back_unchanged(status: int) -> None:
    response = Response(b"x", status_code=status)
    before = list(response.raw_headers)
    assert conditional_response(fake(if_none_match="*"), response) is response
    assert response.raw_headers == before  # no ETag either


def test_the_same_response_object_comes_back_when_it_is_sent() -> None:
    response = JSONResponse(BODY)
    assert conditional_response(fake(), response) is response
    assert conditional_response(fake(if_none_match='"other"'), response) is response
    # A Range alone is no precondition.
    assert conditional_response(fake(range="bytes=0-1"), response) is response


async def test_streaming_responses_need_a_validator() -> None:
    produced: list[int] = []

    async def items() -> AsyncIterator[bytes]:
        produced.append(1)
        yield b"data"

    with pytest.raises(TypeError, match=r"cannot compute an ETag for a StreamingResponse.*etag="):
        conditional_response(fake(), StreamingResponse(items()))

    def make(request: Request) -> Response:
        return conditional_response(request, StreamingResponse(items()), etag="v1")

    client = client_for(make)
    assert (await client.get("/", headers={"if-none-match": '"v1"'})).status_code == 304
    assert produced == []
    response = await client.get("/")
    assert (response.status_code, response.text, response.headers["etag"]) == (200, "data", '"v1"')

    # Last-Modified alone is enough: no ETag is made up.
    answer = conditional_response(
        fake(if_modified_since=DATE), StreamingResponse(items()), last_modified=MODIFIED
    )
    assert answer.status_code == 304
    assert "etag" not in answer.headers
    # Without an ETag, only "*" matches a tag field.
    request = fake("PUT", if_match='"v1"')
    answer = conditional_response(request, StreamingResponse(items()), last_modified=MODIFIED)
    assert answer.status_code == 412
    request = fake("PUT", if_match="*")
    answer = conditional_response(request, StreamingResponse(items()), last_modified=MODIFIED)
    assert answer.status_code == 200


# --- precondition_response ----------------------------------------------------------------------


def test_precondition_response_needs_a_validator() -> None:
    with pytest.raises(ValueError, match=r"pass etag= \(a version or a hash.*last_modified="):
        precondition_response(fake(if_none_match="*"))


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, None),
        ("GET", {"if-none-match": '"v2"'}, None),
        ("GET", {"if-none-match": 'W/"v1"'}, 304),
        ("GET", {"if-modified-since": DATE}, 304),
        ("GET", {"if-modified-since": EARLIER}, None),
        ("PUT", {"if-match": '"v1"'}, None),
        ("PUT", {"if-match": '"v2"'}, 412),
        ("PUT", {"if-unmodified-since": EARLIER}, 412),
        ("PUT", {"if-none-match": "*"}, 412),
    ],
)
def test_precondition_response_answers_before_the_content_is_built(
    method: str, headers: dict[str, str], expected: int | None
) -> None:
    answer = precondition_response(
        make_request(method, headers),
        etag="v1",
        last_modified=MODIFIED,
        headers={"cache-control": "no-cache", "x-custom": "1", "set-cookie": "a=b"},
    )
    if expected is None:
        assert answer is None
        return
    assert answer is not None
    assert answer.status_code == expected
    if expected == 304:
        assert answer.raw_headers == [
            (b"cache-control", b"no-cache"),
            (b"set-cookie", b"a=b"),
            (b"last-modified", DATE.encode()),
            (b"etag", b'"v1"'),
        ]
    else:
        assert answer.raw_headers == [(b"content-length", b"0"), (b"set-cookie", b"a=b")]


def test_precondition_response_with_one_validator_and_weak() -> None:
    request = fake(if_none_match='"v1"')
    answer = precondition_response(request, etag="v1", weak=True)
    assert answer is not None
    assert answer.raw_headers == [(b"etag", b'W/"v1"')]
    request = fake(if_modified_since=DATE)
    answer = precondition_response(request, last_modified=MODIFIED)
    assert answer is not None
    assert answer.raw_headers == [(b"last-modified", DATE.encode())]


async def test_an_endpoint_that_skips_the_work_on_a_revalidation() -> None:
    built: list[int] = []
    version = 7

    def make(request: Request) -> Response:
        tag = f"item-{version}"
        early = precondition_response(request, etag=tag)
        if early is not None:
            return early
        built.append(1)
        return conditional_response(request, JSONResponse(BODY), etag=tag)

    client = client_for(make)
    first = await client.get("/")
    assert first.headers["etag"] == '"item-7"'
    again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert built == [1]
