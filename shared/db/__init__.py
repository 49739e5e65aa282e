"""Station databases: one SQLAlchemy code path for SQLite (default) and PostgreSQL."""
