"""Observability of a station: structured logs bound to a station and a case (logs.py)
and the Prometheus figures of /api/metrics (metrics.py)."""
from services.observability.logs import configure_logging, log_context

__all__ = ["configure_logging", "log_context"]
