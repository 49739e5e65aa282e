"""What makes two filings the same filing: a counter that sends a filing again with its
request id (its answer was lost, the form was submitted twice) must get the first case
back, and one that reuses the id for a different filing must be refused."""
import hashlib
import json


def filing_fingerprint(request):
    """A digest of a filing as the filing schema loaded it (without its request id and
    without who filed it): the same body, however its JSON was spaced or ordered, gives
    the same digest."""
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
