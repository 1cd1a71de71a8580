"""Bounds on what the tool reads from Marathon, as constants the settings can name without loading
the client and the history reader (a ``get`` without Marathon never loads them)."""

# versions read per app, newest first (config max_versions): Marathon may list far more than it
# promises to keep (its GC runs periodically; a hostile one lists 20,000), each a request
DEFAULT_READ_CAP = 200
