"""Types only, one floor below everything: run states, the plan, the report (no I/O, no logic beyond a value's own)."""
