"""Query codes hashed and checked off the eventlet hub (services/off_the_hub.py): scrypt
takes ~20 ms of CPU on purpose."""
from services.off_the_hub import run_off_the_hub
from shared.cases import query_codes


def new_sealed():
    """(plain code, its seal), for a filing or a reprinted receipt."""
    return run_off_the_hub(query_codes.new_sealed)


def matches(sealed, code):
    """Whether `code` opens `sealed`; the same work when `sealed` is None (no such case)."""
    return run_off_the_hub(query_codes.matches, sealed, code)
