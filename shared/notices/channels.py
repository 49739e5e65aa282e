"""How a notice leaves the station: a channel takes one notice (a dict: notice_id, kind,
template_id, mobile, params, case_no, created_at) and answers a Delivery (ok, or the
reason to try again later). Chosen by TONGBAN_NOTICE_CHANNEL (`channel_from`):

- `file:<dir>` (development): one JSON file per notice, `<dir>/<notice_id>.json`, with
  the rendered text; written whole (a temporary file renamed), so the same notice sent
  twice is one file.
- `sms:<url>` an HTTP SMS gateway of the common Chinese shape, with TONGBAN_SMS_APP_KEY,
  TONGBAN_SMS_APP_SECRET and TONGBAN_SMS_SIGN (the approved signature, 签名): a POST of
  JSON {app_key, timestamp, nonce, sign_name, template_id, params, mobile, out_id,
  signature}; `out_id` is our notice id, the gateway's idempotency key: a notice sent
  again after a crash between the send and its mark keeps its out_id, and the gateway
  delivers one SMS per out_id. A 2xx answer with {"code": "OK"} is sent; anything else
  (another code, another status, no answer within TIMEOUT) is tried again later.

The signature: lower-case hex of HMAC-SHA256(app secret, canonical string), where the
canonical string is every field but `signature`, sorted by name, as `name=value` joined
by `&`, the value of `params` being its JSON with sorted keys, no spaces and the Chinese
characters as they are (ensure_ascii off), everything UTF-8. Example:
  app_key=k1&mobile=13800138000&nonce=9f..&out_id=3a..&params={"code":"123456","minutes":"5"}
  &sign_name=揭东区政务服务&template_id=TB_CODE_01&timestamp=1772415000000
"""
import hashlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from shared.notices import templates

TIMEOUT = 10          # seconds to wait for the gateway (below the sender's lease)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    reason: str = ""


def canonical(payload):
    parts = []
    for name in sorted(k for k in payload if k != "signature"):
        value = payload[name]
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        parts.append(f"{name}={value}")
    return "&".join(parts)


def signature(secret, payload):
    return hmac.new(secret.encode(), canonical(payload).encode(), hashlib.sha256).hexdigest()


class FileChannel:
    """One JSON file per notice in `directory` (development, tests, a desk without SMS)."""

    def __init__(self, directory, sign=""):
        self.directory = Path(directory)
        self.sign = sign

    def __repr__(self):
        return f"file:{self.directory}"

    def send(self, notice):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            record = {k: notice[k] for k in ("notice_id", "kind", "template_id", "mobile", "params", "case_no")}
            record["created_at"] = str(notice.get("created_at") or "")
            record["text"] = templates.render(notice["kind"], notice["params"], self.sign, notice["template_id"])
            target = self.directory / f"{notice['notice_id']}.json"
            partial = self.directory / f".{notice['notice_id']}.{uuid.uuid4().hex}.tmp"
            partial.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(partial, target)
        except OSError as exc:
            return Delivery(False, f"file channel: {exc}")
        return Delivery(True)


class SmsChannel:
    """An HTTP SMS gateway (see the module's docstring for the request and its signature)."""

    def __init__(self, url, app_key, app_secret, sign_name, timeout=TIMEOUT, http=None):
        self.url = url
        self.app_key = app_key
        self.app_secret = app_secret
        self.sign_name = sign_name
        self.timeout = timeout
        self.http = http or requests.Session()

    def __repr__(self):
        return f"sms:{self.url}"

    def payload(self, notice, timestamp=None, nonce=None):
        payload = {
            "app_key": self.app_key,
            "timestamp": str(timestamp if timestamp is not None else int(time.time() * 1000)),
            "nonce": nonce or uuid.uuid4().hex,
            "sign_name": self.sign_name,
            "template_id": notice["template_id"],
            "params": dict(notice["params"]),
            "mobile": notice["mobile"],
            "out_id": notice["notice_id"],
        }
        payload["signature"] = signature(self.app_secret, payload)
        return payload

    def send(self, notice):
        try:
            answer = self.http.post(self.url, json=self.payload(notice), timeout=self.timeout)
        except requests.RequestException as exc:
            return Delivery(False, f"SMS gateway unreachable: {type(exc).__name__}: {exc}"[:200])
        try:
            body = answer.json()
        except ValueError:
            body = None
        if 200 <= answer.status_code < 300 and isinstance(body, dict) and body.get("code") == "OK":
            return Delivery(True)
        said = body.get("code") if isinstance(body, dict) else answer.text[:80]
        message = body.get("message", "") if isinstance(body, dict) else ""
        return Delivery(False, f"SMS gateway answered HTTP {answer.status_code} {said} {message}".strip()[:200])


CHANNEL_KEY = "TONGBAN_NOTICE_CHANNEL"
APP_KEY_KEY = "TONGBAN_SMS_APP_KEY"
APP_SECRET_KEY = "TONGBAN_SMS_APP_SECRET"
SIGN_KEY = "TONGBAN_SMS_SIGN"


def channel_from(spec, settings):
    """The channel `spec` names ("file:<dir>" or "sms:<url>"), its secrets from
    `settings` (a mapping: the container's configuration or the environment); None when
    `spec` is empty (notices wait in the outbox). ValueError naming what is wrong."""
    spec = (spec or "").strip()
    if not spec:
        return None
    scheme, _, rest = spec.partition(":")
    sign = settings.get(SIGN_KEY) or ""
    if scheme == "file" and rest:
        return FileChannel(rest, sign)
    if scheme == "sms" and rest.startswith(("http://", "https://")):
        missing = [k for k in (APP_KEY_KEY, APP_SECRET_KEY, SIGN_KEY) if not settings.get(k)]
        if missing:
            raise ValueError(f"{CHANNEL_KEY}={spec} needs {', '.join(missing)}")
        return SmsChannel(rest, settings[APP_KEY_KEY], settings[APP_SECRET_KEY], sign)
    raise ValueError(f"{CHANNEL_KEY} must be file:<directory> or sms:<http(s) url>, not {spec!r}")
