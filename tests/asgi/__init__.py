"""Tests of the connection layer's private helpers, microasgi._asgi."""
