"""Fuzz ``MultipartFrame`` (preamble, delimiters, closing boundary): only ``FormDataError``
escapes, and splitting the body at any point gives the same frame."""

from __future__ import annotations

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._parsers import FormDataError, MultipartFrame

BOUNDARY = "b0undary"


def frame(chunks: list[bytes]) -> tuple[int, bool] | str:
    parser = MultipartFrame(BOUNDARY, max_preamble=64)
    used = 0
    try:
        for chunk in chunks:
            used += parser.feed(chunk)
            if parser.done:
                return used, True
    except FormDataError:
        return "FormDataError"
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
    if parts != whole and whole != "FormDataError" and parts != "FormDataError":
        raise AssertionError(f"split at {split}: {parts!r} != {whole!r} for {body!r}")


if __name__ == "__main__":
    run(test_one)
