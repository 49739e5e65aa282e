"""A station's figures for Prometheus over HTTP (services/observability/metrics.py).

    GET /api/metrics        the Prometheus text format, version 0.0.4

Answers 200 with the database figures and `tongban_broker_up 0` while the broker is
unreachable.
"""
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.config import DATABASE_KEY, amqp_ssl, station_info
from services.http import http
from services.observability.metrics import CONTENT_TYPE, MetricsCollector
from shared.db.database import get_database


class StationMetrics(DependencyProvider):
    """Injects the MetricsCollector of this container's station (its `scrape()`)."""

    def setup(self):
        config = self.container.config
        self.collector = MetricsCollector(get_database(config[DATABASE_KEY]), config["AMQP_URI"],
                                          station_info(config), ssl=amqp_ssl(config))

    def get_dependency(self, worker_ctx):
        return self.collector


class MetricsEndpoints:
    metrics = StationMetrics()

    @http("GET", "/api/metrics")
    def prometheus_metrics(self, request):
        return Response(self.metrics.scrape(), status=200, headers={"Content-Type": CONTENT_TYPE})
