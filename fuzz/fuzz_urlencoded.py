"""Fuzz the urlencoded body parser: only the documented form errors escape, and splitting the
body at any point gives the same fields as feeding it whole."""

from __future__ import annotations

from _harness import instrumented, provider, run

with instrumented():
    from microasgi._sansio.forms import FormDataError, UrlencodedParser, decode_form_fields


def parse(chunks: list[bytes]) -> list[tuple[bytes, bytes]] | str:
    parser = UrlencodedParser(max_fields=50, max_part_size=200)
    fields: list[tuple[bytes, bytes]] = []
    try:
        for chunk in chunks:
            fields += parser.feed(chunk)
        fields += parser.close()
    except FormDataError as exc:  # TooManyFieldsError, FieldTooLargeError
        return type(exc).__name__
    return fields


def test_one(data: bytes) -> None:
    fdp = provider(data)
    split = fdp.ConsumeIntInRange(0, 4096)
    body = fdp.ConsumeBytes(4096)
    whole = parse([body])
    if parse([body[:split], body[split:]]) != whole:
        raise AssertionError(f"split at {split} changes the result for {body!r}")
    if isinstance(whole, list):
        try:
            decode_form_fields(whole)
        except FormDataError:  # InvalidFormEncodingError
            pass


if __name__ == "__main__":
    run(test_one)
