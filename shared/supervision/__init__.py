"""Supervision (电子监察) and statistics over case snapshots: deadline lights, cards and
the district's figures. Plain Python, no broker and no database: the district's
supervision desk feeds it case dicts from its record (`tongban report` asks the
district's /api/stats, and only formats the rows)."""
from shared.supervision.lights import card, light, overdue_working_days
from shared.supervision.statistics import compute_statistics, format_table, to_csv

__all__ = ["card", "light", "overdue_working_days", "compute_statistics", "format_table", "to_csv"]
