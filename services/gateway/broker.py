"""Tells whether this station can reach its broker right now (for /api/health)."""
from kombu import Connection
from nameko.extensions import DependencyProvider

from services.config import amqp_ssl


class BrokerLink:
    def __init__(self, amqp_uri, ssl=None):
        self.amqp_uri = amqp_uri
        self.ssl = ssl

    def connected(self):
        try:
            tls = amqp_ssl({"AMQP_URI": self.amqp_uri, "AMQP_SSL": self.ssl})
            with Connection(self.amqp_uri, connect_timeout=1, ssl=tls) as conn:
                conn.ensure_connection(max_retries=1, timeout=1)
            return True
        except Exception:
            return False


class BrokerProbe(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.link = BrokerLink(config["AMQP_URI"], amqp_ssl(config))

    def get_dependency(self, worker_ctx):
        return self.link
