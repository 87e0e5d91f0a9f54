"""The notes app (the README's quickstart): ``uvicorn examples.notes.app:app``."""
