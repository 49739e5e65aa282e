"""Alembic migrations of the station database (every station has the same schema).

`versions/` holds one file per schema change, oldest first; `HEAD` names the newest.
shared/db/migrate.py runs them; `tongban db upgrade` and every station at start-up
bring a database to `HEAD`. To change the schema: edit shared/db/models.py, run
`tongban db revision -m "what and why"`, review the generated file, set `HEAD`.
"""

# the newest revision: a station whose database is here starts without loading Alembic
# (tests/test_migrations.py checks it is the head of versions/)
HEAD = "0019"

# the first released schema: a database made before migrations existed (by
# `create_all`) is taken to be at this revision
BASELINE = "0001"
