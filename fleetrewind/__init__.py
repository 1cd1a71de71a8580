"""fleetrewind: date-based rollback of a Marathon fleet from a Docker registry's history."""

__version__ = "0.1.0"
