"""Fuzz ``MultipartFrame`` (preamble, delimiters, header sections, closing boundary): only
``FormDataError`` escapes, and splitting the body at any point gives the same frame, the same
error and the same stopping point."""

from __future__ import annotations

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._sansio.forms import FormDataError
    from microasgi._sansio.multipart import MultipartFrame

BOUNDARY = "b0undary"


def frame(chunks: list[bytes]) -> tuple[int, bool] | str:
    parser = MultipartFrame(BOUNDARY, max_preamble=64)
    used = 0
    try:
        for chunk in chunks:
            taken = parser.feed(chunk)
            if not 0 <= taken <= len(chunk):
                raise AssertionError(f"took {taken} of a {len(chunk)}-byte chunk")
            used += taken
            if parser.error is not None:
                return f"{used}: {parser.error}"
            if parser.done:
                return used, True
    except FormDataError as exc:
        return str(exc)
    return used, False


def test_one(data: bytes) -> None:
    fdp = provider(data)
    split = fdp.ConsumeIntInRange(0, 4096)
    # Make delimiters likely: the fuzzer's bytes, with a marker byte standing for the boundary.
    body = fdp.ConsumeBytes(4096).replace(b"\x00", b"--" + BOUNDARY.encode())
    whole = frame([body])
    parts = frame([body[:split], body[split:]])
    if isinstance(whole, tuple) and whole[0] > len(body):
        raise AssertionError(f"consumed {whole[0]} of {len(body)} bytes")
    if parts != whole:
        raise AssertionError(f"split at {split}: {parts!r} != {whole!r} for {body!r}")


if __name__ == "__main__":
    run(test_one)
