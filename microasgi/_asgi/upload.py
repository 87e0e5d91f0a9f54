"""``UploadFile`` and ``FormData``, re-exported by :mod:`microasgi.datastructures`."""

from __future__ import annotations

import io
from tempfile import SpooledTemporaryFile
from typing import IO, BinaryIO

from microasgi._sansio.headermap import Headers
from microasgi._sansio.multidict import ImmutableMultiDict
from microasgi.concurrency import run_in_threadpool

__all__ = ["FormData", "UploadFile"]


class UploadFile:
    """A file uploaded in a multipart form, with async methods that never block the event loop.

    Its methods act directly on the file only while it is held in memory (an ``io.BytesIO``, or a
    ``SpooledTemporaryFile`` that has not rolled over to disk and will not roll over during the
    operation); any other file is read, written, sought and closed in a worker thread.

    Args:
        file: the binary file holding the content, usually a ``SpooledTemporaryFile``.
        size: the size in bytes, if known; ``write`` adds to it.
        filename: the file name the client sent, if any.
        headers: the headers of the form part; ``content_type`` comes from them.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.filename = filename
        self.file = file
        self.size = size
        self.headers = Headers() if headers is None else headers

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` of the part, or ``None``."""
        return self.headers.get("content-type")

    def _in_memory(self) -> bool:
        """Whether a read, seek or close runs without disk I/O."""
        return self._memory_file() is not None

    def _memory_file(self, write: int | None = None) -> IO[bytes] | None:
        """The file in memory that a read, seek or close (or a write of ``write`` bytes at the
        position) acts on directly, or ``None`` when the operation may touch the disk (then it
        runs in a worker thread)."""
        file = self.file
        if isinstance(file, SpooledTemporaryFile):
            if getattr(file, "_rolled", True):
                return None
            if write is not None:
                # SpooledTemporaryFile.write rolls over to disk once the position passes
                # _max_size (0 means never): such a write does disk I/O, so it belongs in a
                # thread.
                max_size: int = getattr(file, "_max_size", 0)
                if max_size and file.tell() + write > max_size:
                    return None
            if type(file) is SpooledTemporaryFile:
                # PERF: the spooled file's read, write, seek and close are Python wrappers that
                # pass the call on to its BytesIO (write then checks for a rollover, which the
                # test above rules out): the BytesIO is called directly. ``file`` stays the
                # SpooledTemporaryFile, and a subclass keeps its own methods.
                inner: IO[bytes] = file._file
                return inner
            return file
        return file if isinstance(file, io.BytesIO) else None

    async def write(self, data: bytes) -> None:
        """Write ``data`` at the current position and add its length to ``size`` (if known)."""
        memory = self._memory_file(len(data))
        if memory is not None:
            memory.write(data)
        else:
            await run_in_threadpool(self.file.write, data)
        if self.size is not None:
            self.size += len(data)

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all the rest when negative) from the current position."""
        memory = self._memory_file()
        if memory is None:
            return await run_in_threadpool(self.file.read, size)
        if size < 0 and type(memory) is io.BytesIO and memory.tell() == 0:
            # PERF: the whole file from its start is the BytesIO's value, which it hands over
            # without a copy (``read`` copies it whenever the buffer has room to spare, as it
            # has after a few writes: for a 64 KiB upload, a new 64 KiB object each time).
            # The position moves to the end, as ``read``'s would.
            data = memory.getvalue()
            memory.seek(len(data))
            return data
        return memory.read(size)

    async def seek(self, offset: int) -> None:
        """Move to byte ``offset`` from the start."""
        memory = self._memory_file()
        if memory is not None:
            memory.seek(offset)
        else:
            await run_in_threadpool(self.file.seek, offset)

    async def close(self) -> None:
        """Close the file (a spooled file on disk is deleted)."""
        memory = self._memory_file()
        if memory is not None:
            memory.close()
        else:
            await run_in_threadpool(self.file.close)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(filename={self.filename!r}, size={self.size!r}, "
            f"headers={self.headers!r})"
        )


class FormData(ImmutableMultiDict[str, UploadFile | str]):
    """The fields of a submitted form: an ``ImmutableMultiDict`` of ``str`` or ``UploadFile``.

    ``await form.close()`` closes every uploaded file (``Request.form()`` as a context manager
    does it for you).
    """

    __slots__ = ()

    def _closes_in_memory(self) -> bool:
        """Whether ``close`` closes every file in memory: nothing it awaits can be cancelled."""
        for _, value in self._list:
            if isinstance(value, UploadFile) and not value._in_memory():
                return False
        return True

    async def close(self) -> None:
        """Close every ``UploadFile`` in the form."""
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()
