from tempfile import SpooledTemporaryFile

from microasgi.datastructures import FormData, Headers, UploadFile


def make_upload(content_type: str, filename: str) -> UploadFile:
    # Kept in memory up to 1 MiB, then spooled to disk (what the multipart parser does).
    spooled = SpooledTemporaryFile(max_size=1024 * 1024)
    return UploadFile(
        spooled,  # type: ignore[arg-type]  # typeshed's SpooledTemporaryFile is not a BinaryIO
        size=0,
        filename=filename,
        headers=Headers({"content-type": content_type}),
    )


async def test_upload_file() -> None:
    upload = make_upload("text/csv", "report.csv")
    await upload.write(b"id,name\n1,Ada\n")  # in memory: no thread needed
    await upload.seek(0)
    assert await upload.read() == b"id,name\n1,Ada\n"
    assert (upload.filename, upload.content_type, upload.size) == ("report.csv", "text/csv", 14)

    form = FormData([("report", upload), ("comment", "monthly")])
    assert form["comment"] == "monthly"
    await form.close()  # closes every UploadFile in the form
    assert upload.file.closed
