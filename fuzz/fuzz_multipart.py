"""Fuzz ``MultipartFrame`` (preamble, delimiters, header sections, closing boundary): only
``FormDataError`` escapes, and splitting the body at any point gives the same frame, the same
error and the same stopping point."""

from __future__ import annotations

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._sansio.forms import FormDataError
    from microasgi._sansio.multipart import MultipartFrame

BOUNDARY = "b0undary"


DELIMITER = b"\r\n--" + BOUNDARY.encode()


def _after_part_end(parser: MultipartFrame, size: int) -> tuple[str | None, bool]:
    parser.part_end(size)
    return parser.error, parser.done


def frame(chunks: list[bytes]) -> tuple[int, bool] | str:
    """Bytes the frame lets through and whether it saw the closing delimiter, or its error.
    The multipart library's part is played here: it reports each part's end to the frame."""
    parser = MultipartFrame(BOUNDARY, max_preamble=64)
    seen = b""
    try:
        for chunk in chunks:
            taken = parser.feed(chunk)
            if not 0 <= taken <= len(chunk):
                raise AssertionError(f"took {taken} of a {len(chunk)}-byte chunk")
            seen += chunk[:taken]
            if parser.error is not None:
                return f"{len(seen)}: {parser.error}"
            if parser.done:
                return len(seen), True
            while (start := parser.body_start) is not None:
                end = seen.find(DELIMITER, start)
                after = end + len(DELIMITER) + 2
                if end < 0 or after > len(seen):
                    break
                if seen[after - 2 : after] not in (b"\r\n", b"--"):
                    return "the library refuses the bytes after a delimiter"
                error, done = _after_part_end(parser, end - start)
                if error is not None:
                    return f"{after + len(parser.unread)}: {error}"
                if done:
                    return after, True
    except FormDataError as exc:
        return str(exc)
    return len(seen), False


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
