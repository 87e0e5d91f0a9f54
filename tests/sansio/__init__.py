"""Tests of the protocol layer, microasgi._sansio: one module each, no event loop."""
