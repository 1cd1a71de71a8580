"""marathonsim: a Marathon 1.11 REST API simulator for client tests (see docs/simulator.md)."""
from .simulator import Simulator

__all__ = ["Simulator"]
