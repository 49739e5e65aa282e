"""A local SMS gateway for tests: an HTTP server on a free port that takes the SMS
channel's POSTs (shared/notices/channels.py) as a Chinese SMS gateway does: it checks the
app key, the timestamp (within 15 minutes) and the signature — computed here from the
documented rule, not with the station's code — and delivers one SMS per `out_id` (a
POST repeating an out_id is answered OK and not delivered again, as real gateways treat
their idempotency key).

    with SmsReceiver(app_key="k", app_secret="s") as gateway:
        channel = SmsChannel(gateway.url, "k", "s", "揭东区政务服务")
        ...
        gateway.delivered   # {out_id: payload}, one per SMS delivered
        gateway.posts       # every POST received, in order (repeats and refusals too)
        gateway.down(2)     # the next 2 POSTs answer 503 (a gateway outage)

P's browser test can read the codes and notices a resident received from `delivered`.
"""
import hashlib
import hmac
import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FIELDS = ("app_key", "timestamp", "nonce", "sign_name", "template_id", "params", "mobile", "out_id", "signature")


def expected_signature(secret, payload):
    """HMAC-SHA256 over name=value pairs sorted by name, joined by '&', without
    `signature`; `params` as compact JSON with sorted keys and unescaped Chinese."""
    pairs = []
    for name in sorted(payload):
        if name == "signature":
            continue
        value = payload[name]
        if name == "params":
            value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        pairs.append(name + "=" + value)
    return hmac.new(secret.encode("utf-8"), "&".join(pairs).encode("utf-8"), hashlib.sha256).hexdigest()


class SmsReceiver:
    def __init__(self, app_key="tongban-test", app_secret="test-secret-短信", host="127.0.0.1"):
        self.app_key = app_key
        self.app_secret = app_secret
        self.delivered = {}
        self.posts = []
        self.refused = []
        self._down = 0
        self._lock = threading.Lock()
        self.server = make_server(host, 0, self.app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}/sms/send"
        self.thread = None

    def __enter__(self):
        self.thread = threading.Thread(target=self.server.serve_forever, name="sms-receiver", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def down(self, posts):
        """Answer the next `posts` POSTs 503 (the gateway is down)."""
        with self._lock:
            self._down = posts

    def texts_to(self, mobile):
        return [p for p in self.delivered.values() if p["mobile"] == mobile]

    def _answer(self, status, code, message=""):
        return Response(json.dumps({"code": code, "message": message}), status=status,
                        content_type="application/json")

    @Request.application
    def app(self, request):
        try:
            payload = json.loads(request.get_data(as_text=True))
        except ValueError:
            payload = None
        with self._lock:
            self.posts.append(payload)
            if self._down > 0:
                self._down -= 1
                return self._answer(503, "SERVICE_UNAVAILABLE", "gateway down")
            problem = self._check(payload)
            if problem:
                self.refused.append((payload, problem))
                return self._answer(400, "REFUSED", problem)
            self.delivered.setdefault(payload["out_id"], payload)   # one SMS per out_id
            return self._answer(200, "OK", "sent")

    def _check(self, payload):
        if not isinstance(payload, dict) or set(payload) != set(FIELDS):
            return "fields"
        if payload["app_key"] != self.app_key:
            return "app_key"
        if abs(time.time() * 1000 - int(payload["timestamp"])) > 15 * 60 * 1000:
            return "timestamp"
        if not hmac.compare_digest(expected_signature(self.app_secret, payload), payload["signature"]):
            return "signature"
        return None
