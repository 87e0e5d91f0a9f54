"""Tests of microasgi.middleware (a package: its basenames repeat those in tests/)."""
