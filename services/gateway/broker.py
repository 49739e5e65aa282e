"""Tells whether this station can reach its broker right now (for /api/health)."""
from kombu import Connection
from nameko.extensions import DependencyProvider


class BrokerLink:
    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri

    def connected(self):
        try:
            with Connection(self.amqp_uri, connect_timeout=1) as conn:
                conn.ensure_connection(max_retries=1, timeout=1)
            return True
        except Exception:
            return False


class BrokerProbe(DependencyProvider):
    def setup(self):
        self.link = BrokerLink(self.container.config["AMQP_URI"])

    def get_dependency(self, worker_ctx):
        return self.link
