"""Use cases, one module per command: each exposes ``execute(settings, console) -> int``."""
