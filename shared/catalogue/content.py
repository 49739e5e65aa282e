"""Canonical form of catalogue content, and the hash every replica must agree on."""
import hashlib
import json


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(items, schedules, bundles=()):
    """sha256 over every item (current and retired, with status and version), every
    published calendar schedule and every bundle (active and retired), in code / year /
    code order. A catalogue without bundles hashes as it did before bundles existed."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i["code"]):
        digest.update(canonical_json(item).encode("utf-8"))
        digest.update(b"\n")
    digest.update(b"--calendar--\n")
    for schedule in sorted(schedules, key=lambda s: s["year"]):
        digest.update(canonical_json(schedule).encode("utf-8"))
        digest.update(b"\n")
    if bundles:
        digest.update(b"--bundles--\n")
        for bundle in sorted(bundles, key=lambda b: b["code"]):
            digest.update(canonical_json(bundle).encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()
