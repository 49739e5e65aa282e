"""The query code (查询码) of a case: what a resident gives, with the case number, to see
their case and rate it without logging in.

8 characters drawn with `secrets` from 31 that cannot be mistaken for one another (no
0/O, 1/I/L): about 8.5 × 10^11 codes, so with a few guesses an hour (the attempt limits,
shared/cases/lookup_limits.py) none is found. Only a salted scrypt hash is kept, in the
case record itself (`query_code_seal`), so every copy of the case — the district's
included — can check a code and none can show it. The plain code is shown once: in the
filing's answer and on the paper printed right after it; a counter holding the case can
issue a new one (a reprinted receipt), which replaces the old.

Plain Python; hashing takes ~20 ms of CPU on purpose, so services run `seal` and
`matches` off the event loop.
"""
import base64
import hashlib
import hmac
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
SEAL_FIELD = "query_code_seal"
# scrypt's cost: n=2^13, r=8 (8 MiB, ~20 ms); kept in each seal, so it can be raised later
N, R, P = 2 ** 13, 8, 1
FORMAT_MESSAGE = (f"query_code: the query code (查询码) has {LENGTH} letters and digits, "
                  f"as printed on the receipt")


def new_code():
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text):
    """The code as typed, upper-cased, without spaces or dashes; None when it cannot be a
    code (wrong length or characters), which is not a guess and is not counted."""
    code = "".join(str(text or "").split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def display(code):
    """As printed: two groups of four, easier to read out and type (ABCD-EFGH)."""
    return f"{code[:4]}-{code[4:]}"


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _digest(code, salt, n, r, p):
    return hashlib.scrypt(code.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def seal(code):
    """The stored form of `code`: scrypt with a fresh random salt."""
    salt = secrets.token_bytes(16)
    return {"scheme": "scrypt", "n": N, "r": R, "p": P, "salt": _b64(salt),
            "hash": _b64(_digest(code, salt, N, R, P))}


def new_sealed():
    """(plain code, its seal)."""
    code = new_code()
    return code, seal(code)


# checked instead when there is no seal to check (an unknown case), so that answering
# "no" takes the same work whether the case exists or not
_DUMMY = seal(new_code())


def matches(sealed, code):
    """Whether `code` (normalized) is the code `sealed` was made from; the same work is
    done when `sealed` is None (always False then)."""
    target = sealed if sealed and sealed.get("scheme") == "scrypt" else _DUMMY
    digest = _digest(code or "", base64.b64decode(target["salt"]), target["n"], target["r"], target["p"])
    same = hmac.compare_digest(digest, base64.b64decode(target["hash"]))
    return same and target is sealed


def seal_of(case):
    return (case or {}).get(SEAL_FIELD)


def attach(case, sealed):
    """Give `case` this seal, replacing any earlier one (the old code stops working)."""
    case[SEAL_FIELD] = sealed
    return case


def without_seal(case):
    """A shallow copy of `case` without its seal: what any user or page is shown."""
    return {k: v for k, v in case.items() if k != SEAL_FIELD}
