"""What a station's administrator does to its users (the web desk's 用户管理 page):
see them with their lockout state, deactivate and reactivate them, give a forgotten
password back as a one-time temporary one, unlock them.

Plain functions over a database session (no nameko), so the rules are tested directly.
Users are never deleted (their names stay in case histories). An administrator does not
deactivate themselves (they would lock the station's administration out).
"""
import secrets

from sqlalchemy import delete

from shared.auth.accounts import Accounts
from shared.auth.login_guard import LoginGuard
from shared.auth.passwords import hash_password
from shared.db.models import LoginSession, utcnow
from shared.exceptions import Conflict

# no 0/O, 1/l/I: read from the screen and typed at another desk
TEMPORARY_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_LENGTH = 14


def temporary_password(length=TEMPORARY_LENGTH):
    """A random password for one login (about 81 bits with the default length)."""
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(length))


class UserAdministration:
    """A station's users as its administrator manages them, in one database session."""

    def __init__(self, session, station, network):
        self.session = session
        self.accounts = Accounts(session, station, network)

    def list(self):
        """Every user with their lockout state ({failures, locked_until}) and whether
        they must choose their own password at the next login."""
        guard = LoginGuard(self.session)
        return [{**user, "login": guard.state(user["username"])} for user in self.accounts.list()]

    def get(self, username):
        return self.accounts.view(self.accounts.get(username))

    def set_active(self, username, active, by_username):
        """Deactivate (their sessions end at once: they are logged out) or reactivate."""
        if not active and username == by_username:
            raise Conflict("不能停用自己的账号：an administrator cannot deactivate their own account")
        self.accounts.set_active(username, active)
        return self.get(username)

    def reset_password(self, username, by_username):
        """A new temporary password, returned once (only its hash is kept): the user's
        sessions end, a lockout is cleared, and the user must choose their own password
        at the next login. An administrator changes their own password on 我的账号."""
        if username == by_username:
            raise Conflict("请在“我的账号”中修改自己的密码：an administrator changes their own password there")
        user = self.accounts.get(username)
        password = temporary_password()
        user.password_hash = hash_password(password)
        user.must_change_password = True
        user.password_changed_at = utcnow()
        self.session.execute(delete(LoginSession).where(LoginSession.username == username))
        LoginGuard(self.session).clear(username)
        self.session.flush()
        return {**self.get(username), "temporary_password": password}

    def unlock(self, username):
        """Forget the username's failed logins (a lockout ends); how many there were."""
        self.accounts.get(username)
        return LoginGuard(self.session).clear(username)
