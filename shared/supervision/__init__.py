"""Supervision (电子监察) and statistics over case snapshots: deadline lights, cards and
the district's figures. Plain Python, no broker and no database: the supervision service
and the `tongban report` command feed it case dicts."""
from shared.supervision.lights import card, light, overdue_working_days
from shared.supervision.statistics import compute_statistics, format_table, to_csv

__all__ = ["card", "light", "overdue_working_days", "compute_statistics", "format_table", "to_csv"]
