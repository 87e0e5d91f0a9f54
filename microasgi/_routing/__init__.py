"""The dispatch layer: which app answers a request, under which limits, and the lifespan.

The machinery behind the public ``routing`` module, which publishes its names: ``routes``
(``Route``, ``WebSocketRoute``, ``BaseRoute`` and the endpoint adapters), ``hosts`` (``Host``),
``router`` (``Router`` and ``Mount``, which holds a router of its own), ``limits`` (the body and
message caps a route or mount puts on a request), ``cancellation`` (ending a request on a
disconnect or at a deadline) and ``lifespan`` (startup and shutdown, mounted apps' included).
It matches paths with the protocol layer (``microasgi._sansio.paths`` and ``.matcher``) and hands
endpoints the connection layer's ``Request`` and ``WebSocket``.
"""
