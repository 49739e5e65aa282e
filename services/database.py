"""Dependency provider for the station's own database."""
from nameko.extensions import DependencyProvider

from services.config import DATABASE_KEY
from shared.db.database import get_database


class StationDatabase(DependencyProvider):
    """Injects the station's Database (transaction() to write, reading() to read).

    The engine is built once per process and URL, so the services of one station share
    it, and its write lock."""

    def setup(self):
        self.database = get_database(self.container.config[DATABASE_KEY])

    def get_dependency(self, worker_ctx):
        return self.database
