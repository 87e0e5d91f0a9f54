"""The protocol layer: HTTP and ASGI data, parsed and built without I/O.

Pure functions and small data structures over ``str``, ``bytes`` and the scope: no ``receive``,
no ``send``, no anyio, so everything here is tested, property-tested and fuzzed without an event
loop (h11's design, Werkzeug's ``sansio``). Each module is one concept of the wire format:

- headers: ``headers`` (validating and encoding names and values), ``headermap`` (``Headers``,
  ``MutableHeaders``), ``options`` (``Content-Type`` and its parameters), ``cookies``,
  ``encoding`` (``Accept-Encoding``), ``accept`` (``Accept``), ``ranges`` (``Range`` and the
  conditional headers), ``hosts`` (``Host``), ``forwarded`` (``Forwarded`` and
  ``X-Forwarded-*``);
- URLs and the scope: ``scope`` (paths and URLs from a scope), ``url`` (``URL``), ``multidict``
  (query strings and ``MultiDict``);
- bodies: ``body`` (the declared length, JSON nesting), ``forms`` (urlencoded bodies, field
  decoding), ``multipart`` (multipart framing), ``text`` (percent-decoding);
- routing: ``paths`` (path templates), ``matcher`` (the trie that matches many at once);
- ASGI extensions and websockets: ``extensions`` (TLS, push, early hints, trailers),
  ``websocket`` (the connection's state table and close frames).

It imports nothing of microasgi but ``types`` and ``convertors``.
"""
