"""Supervision (电子监察) and statistics: deadline lights, cards and the district's
figures. Plain Python over case snapshots, no broker, except `aggregates`, where the
district's database counts the figures from the cases' summary columns (`tongban report`
asks the district's /api/stats, and only formats the rows)."""
from shared.supervision.lights import card, light, overdue_working_days
from shared.supervision.statistics import compute_statistics, format_table, to_csv

__all__ = ["card", "light", "overdue_working_days", "compute_statistics", "format_table", "to_csv"]
