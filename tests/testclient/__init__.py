"""Tests of microasgi.testclient: the clients, their sessions and the ASGI message checks."""
