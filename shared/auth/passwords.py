"""Password hashing with Argon2id (argon2-cffi).

The cost is OWASP's recommended minimum for Argon2id (19 MiB, 2 passes, 1 lane): a village
station is a small PC whose whole process should stay under 80 MB, and a login must not
stall the counter. Hashes carry their parameters, so raising them later only needs
`needs_rehash` on the next login.
"""
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


@functools.lru_cache(maxsize=1)
def dummy_hash():
    """A hash no password matches, verified in place of an unknown or deactivated user's,
    so that such a login costs as long as a wrong password (no user enumeration by timing)."""
    return _hasher.hash(secrets.token_urlsafe(32))
