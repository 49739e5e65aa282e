"""Canonical form of catalogue content, and the hash every replica must agree on."""
import hashlib
import json


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(items, schedules):
    """sha256 over every item (current and retired, with status and version) and every
    published calendar schedule, in code / year order."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i["code"]):
        digest.update(canonical_json(item).encode("utf-8"))
        digest.update(b"\n")
    digest.update(b"--calendar--\n")
    for schedule in sorted(schedules, key=lambda s: s["year"]):
        digest.update(canonical_json(schedule).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
