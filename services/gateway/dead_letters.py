"""The dead letters of a station's own queues over HTTP, for its administrator.

    GET  /api/dead-letters?limit=200&offset=0   what this station's consumers gave up on (a page)
    POST /api/dead-letters/retry            {"ids": ["<id or prefix>", ...]} or {"all": true}

The same as `tongban dead-letters list|retry --station CODE` (services/dead_letters.py).
"""
from nameko.extensions import DependencyProvider

from services.config import NETWORK_KEY, STATION_KEY, amqp_ssl, load_network
from services.dead_letters import DeadLetterBox, UnknownDeadLetter, network_queues
from services.http import error_response, http, json_body, json_response, page_of
from shared.auth import permissions
from shared.exceptions import InvalidInput, NotFound


class StationDeadLetters(DependencyProvider):
    """Injects the DeadLetterBox of this station's queues."""

    def setup(self):
        config = self.container.config
        network = load_network(config[NETWORK_KEY])
        self.box = DeadLetterBox(config["AMQP_URI"], network_queues(network, config[STATION_KEY]),
                                 connect_timeout=3, ssl=amqp_ssl(config))

    def get_dependency(self, worker_ctx):
        return self.box


def _broker_unreachable(exc):
    return error_response(503, "BROKER_UNREACHABLE",
                          f"the broker cannot be reached to read the dead-letter queues ({exc})")


MAX_OFFSET = 10_000


class DeadLetterEndpoints:
    dead_letter_box = StationDeadLetters()

    @http("GET", "/api/dead-letters")
    def list_dead_letters(self, request):
        permissions.can_handle_dead_letters(self.users.user(request))
        # a page of messages is held off the queue while it is read: bounded, and so is
        # how far in a page may start
        limit, offset = page_of(request, default=200, most=1000, furthest=MAX_OFFSET)
        try:
            total, letters = self.dead_letter_box.page(limit=limit, offset=offset)
        except Exception as exc:
            return _broker_unreachable(exc)
        return json_response({"total": total, "limit": limit, "offset": offset,
                              "dead_letters": [d.to_dict() for d in letters]})

    @http("POST", "/api/dead-letters/retry")
    def retry_dead_letters(self, request):
        user = self.users.user(request)
        with self.access_audit.change(user, "retry_dead_letters"):  # recorded, made or refused
            permissions.can_handle_dead_letters(user)
            return self._retry(json_body(request))

    def _retry(self, body):
        unknown = sorted(set(body) - {"ids", "all"})
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
        ids, retry_all = body.get("ids"), body.get("all", False)
        if retry_all is not True and retry_all is not False:
            raise InvalidInput("all: must be true or false")
        if ids is not None and (not isinstance(ids, list) or not ids
                                or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids)):
            raise InvalidInput("ids: must be a non-empty list of message ids")
        if (ids is None) == (not retry_all):
            raise InvalidInput('give either "ids" or "all": true')
        try:
            retried = self.dead_letter_box.retry(None if retry_all else ids)
        except UnknownDeadLetter as exc:
            raise NotFound(str(exc))
        except ValueError as exc:  # an id too short or ambiguous
            raise InvalidInput(str(exc))
        except Exception as exc:
            return _broker_unreachable(exc)
        return json_response({"retried": [d.to_dict() for d in retried]})
