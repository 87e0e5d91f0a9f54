"""microasgi: a small, fast, fully typed ASGI toolkit in the style of Starlette."""

__version__ = "0.1.0"
