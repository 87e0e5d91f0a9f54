"""The connection layer: requests read from ``receive`` and responses sent through ``send``.

The machinery behind the public ``requests``, ``responses`` and ``datastructures`` modules, which
publish its names: ``connection`` (``HTTPConnection``, the scope as a mapping), ``body`` (the
request body's state table and the reader every ``Request`` over a scope shares), ``upload``
(``UploadFile`` and ``FormData``), ``forms`` (reading form bodies, their limits and errors,
published by ``formparsers``), ``multipart_stream`` (``request.multipart()``, part by part),
``response`` (``Response``), ``streaming`` (``StreamingResponse``), ``fileresponse``
(``FileResponse``), ``conditional`` (304/412 for built content), ``sse`` (server-sent events),
``concurrency`` (async callables and exception groups), ``inbox`` (messages taken while
watching for a disconnect), ``context`` (the current request) and ``drain`` (the drain a
connection listens to). It builds on the protocol layer
(``microasgi._sansio``) and never imports the dispatch layer (``microasgi._routing``).
"""
