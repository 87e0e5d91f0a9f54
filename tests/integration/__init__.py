"""Integration tests: microasgi under real ASGI servers, over loopback sockets."""
