"""No sample password on a station others can reach: a station listening on an address
other than loopback refuses to start while an active user still has a sample password
(flagged to change it, or verifying against SAMPLE_PASSWORD), naming them."""
import ipaddress
import socket

from sqlalchemy import select

from shared.auth.passwords import verify_password
from shared.db.models import User


class SamplePasswordsExposed(RuntimeError):
    """The station would listen beyond this machine with sample passwords in use."""


def is_loopback(host):
    """Whether `host` (an address or a name) is only reachable from this machine."""
    host = (host or "").strip("[]")
    if not host:
        return False  # every address
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def host_of(bind_address):
    """The host part of nameko's WEB_SERVER_ADDRESS ("host:port", "[::1]:port" or "port")."""
    if ":" not in bind_address:
        return "0.0.0.0"  # nameko: a bare port listens on every address
    return bind_address.rsplit(":", 1)[0]


def users_with_sample_passwords(session, sample_password, verify=verify_password):
    """The active users flagged to change a password chosen for them, or whose password
    is still the sample one (sorted usernames)."""
    found = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)):
        if user.must_change_password or verify(user.password_hash, sample_password):
            found.append(user.username)
    return found


def refuse_sample_passwords_on_open_address(database, station_code, bind_address, sample_password):
    """SamplePasswordsExposed naming the users, if `bind_address` is not loopback and
    some active user still has a sample password."""
    host = host_of(bind_address)
    if is_loopback(host):
        return
    with database.reading() as session:
        users = users_with_sample_passwords(session, sample_password)
    if users:
        raise SamplePasswordsExposed(
            f"station {station_code} will not listen on {bind_address} (reachable from other machines) "
            f"while these users still have the sample password: {', '.join(users)}. Each must log in once "
            f"and choose their own (POST /api/me/password, or the desk's 我的账号 page) with the station "
            f"listening on 127.0.0.1, or an administrator sets new ones (tongban users passwd); then start it again.")
