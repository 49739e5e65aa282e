"""A station's users and their logins, in the station's own database."""
import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update

from shared.auth import password_policy, roles
from shared.auth.passwords import MIN_LENGTH, dummy_hash, hash_password, needs_rehash, verify_password
from shared.auth.schemas import NewUserSchema, UserSchema
from shared.db.models import LoginSession, User, utcnow
from shared.exceptions import Conflict, InvalidInput, NotFound, PasswordChangeRequired, Unauthorized
from shared.validation import load

SESSION_HOURS = 10  # a working day at the counter, with the lunch break
IDLE_MINUTES = 30   # a counter left alone this long needs the password again
# last_seen_at is written at most this often (not on every request)
TOUCH_SECONDS = 60
# what a user who must change their password may still do
WHILE_PASSWORD_CHANGE_REQUIRED = ("/api/me", "/api/me/password", "/api/logout",
                                  "/desk/account/password", "/desk/logout")
PASSWORD_CHANGE_REQUIRED = ("请先修改初始密码（首次登录必须设置自己的密码）：POST /api/me/password "
                            "{current_password, new_password}. The password was chosen by someone else")


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_id(hashed):
    """How a session is named to its user: the start of its token's hash (never the
    token, which only its browser or client holds)."""
    return hashed[:16]


def _iso(moment):
    return moment.isoformat() + "Z" if moment else None


class Accounts:
    def __init__(self, session, station, network):
        self.session = session
        self.station = station
        self.network = network

    def view(self, user):
        data = UserSchema().dump(user)
        data["station"] = self.station.code
        return data

    # -- users ----------------------------------------------------------------------------
    def add(self, data, must_change_password=False):
        request = load(NewUserSchema, data)
        role, department = request["role"], request["department"]
        if self.station.tier not in roles.TIERS[role]:
            raise InvalidInput(f"role: a {role} ({roles.LABELS[role]}) does not work at a "
                               f"{self.station.tier} station")
        if role in roles.DEPARTMENT_ROLES:
            if department not in self.network.departments:
                raise InvalidInput(f"department: a {role} needs one of the district's departments "
                                   f"({', '.join(self.network.departments)})")
        elif department:
            raise InvalidInput("department: only reviewers and approvers belong to a department")
        if self.session.get(User, request["username"]) is not None:
            raise Conflict(f"user '{request['username']}' already exists at station {self.station.code}")
        user = User(username=request["username"], name=request["name"], role=role, department=department,
                    password_hash=hash_password(request["password"]), active=True,
                    must_change_password=must_change_password)
        self.session.add(user)
        self.session.flush()
        return self.view(user)

    def get(self, username):
        user = self.session.get(User, username)
        if user is None:
            raise NotFound(f"no user '{username}' at station {self.station.code}")
        return user

    def list(self):
        return [self.view(u) for u in self.session.scalars(select(User).order_by(User.role, User.username))]

    def set_password(self, username, password):
        if len(password) < MIN_LENGTH:
            raise InvalidInput(f"password: at least {MIN_LENGTH} characters")
        user = self.get(username)
        user.password_hash = hash_password(password)
        # an operator's `tongban users passwd`: a password of their choosing, no longer a sample one
        user.must_change_password = False
        user.password_changed_at = utcnow()
        self.session.execute(delete(LoginSession).where(LoginSession.username == username))

    def change_own_password(self, username, new_password, current_token=None, forbidden=()):
        """The user's own change (their current password already checked): the policy,
        then every other session of theirs ends; the flag to change it is cleared."""
        user = self.get(username)
        password_policy.check(new_password, (user.username, user.name, self.station.code, self.station.name,
                                             "tongban", "通办"), forbidden=forbidden)
        user.password_hash = hash_password(new_password)
        user.must_change_password = False
        user.password_changed_at = utcnow()
        return self.end_sessions(username, keep=current_token)

    def set_active(self, username, active):
        self.get(username).active = active
        if not active:
            self.session.execute(delete(LoginSession).where(LoginSession.username == username))

    # -- logins ---------------------------------------------------------------------------
    def check_password(self, username, password, verify=verify_password):
        """Raises Unauthorized unless the password is right (the same answer, after the
        same work, for an unknown user, a wrong password and a deactivated account: their
        password is checked against a dummy hash). Takes tens of milliseconds on purpose:
        run it outside a write transaction; `verify(hash, password)` may run it off the
        caller's thread."""
        user = self.session.get(User, username)
        usable = user is not None and user.active
        matches = verify(user.password_hash if usable else dummy_hash(), password)
        if not (usable and matches):
            raise Unauthorized("用户名或密码不正确（或账号已停用）")
        return needs_rehash(user.password_hash)

    def open_session(self, username, password=None, hours=SESSION_HOURS, client_address="", user_agent=""):
        """A new session token (shown once); `password` when its hash needs upgrading."""
        user = self.get(username)
        if password is not None:
            user.password_hash = hash_password(password)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + dt.timedelta(hours=hours)
        self.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
        self.session.execute(delete(LoginSession).where(LoginSession.last_seen_at
                                                        <= now - dt.timedelta(minutes=IDLE_MINUTES)))
        self.session.add(LoginSession(token_hash=token_hash(token), username=username, created_at=now,
                                      expires_at=expires, last_seen_at=now,
                                      client_address=(client_address or "")[:64],
                                      user_agent=(user_agent or "")[:200]))
        return {"token": token, "expires_at": expires.isoformat() + "Z", "user": self.view(user)}

    def log_out(self, token):
        self.session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))

    def user_of(self, token, path=None):
        """The user a token belongs to, as a dict; Unauthorized if it is unknown, expired
        or idle too long. With the request's `path`: PasswordChangeRequired (403) for a
        user who must change their password, unless the path is one of those allowed then."""
        return self.view(self.session_of(token, path)[0])

    def session_of(self, token, path=None, now=None):
        """(User, LoginSession) of a token, checked as user_of does."""
        if not token:
            raise Unauthorized("请先登录：this request needs a session token (POST /api/login)")
        row = self.session.execute(
            select(User, LoginSession).join(LoginSession, LoginSession.username == User.username)
            .where(LoginSession.token_hash == token_hash(token))).first()
        if row is None or not row[0].active:
            raise Unauthorized("登录已失效，请重新登录：the session token is unknown or was ended")
        user, login = row
        now = now or utcnow()
        if login.expires_at <= now:
            raise Unauthorized("登录已过期，请重新登录：the session token has expired")
        if (login.last_seen_at or login.created_at) + dt.timedelta(minutes=IDLE_MINUTES) <= now:
            raise Unauthorized(f"超过 {IDLE_MINUTES} 分钟未操作，登录已失效，请重新登录："
                               f"the session was idle for more than {IDLE_MINUTES} minutes")
        if path is not None and user.must_change_password and path not in WHILE_PASSWORD_CHANGE_REQUIRED:
            raise PasswordChangeRequired(PASSWORD_CHANGE_REQUIRED)
        return user, login

    @staticmethod
    def needs_touch(login, now=None):
        seen = login.last_seen_at or login.created_at
        return ((now or utcnow()) - seen).total_seconds() >= TOUCH_SECONDS

    def touch(self, token, now=None):
        """The session was used: its idle time starts again."""
        self.session.execute(update(LoginSession).where(LoginSession.token_hash == token_hash(token))
                             .values(last_seen_at=now or utcnow()))

    # -- a user's own sessions ------------------------------------------------------------
    def sessions(self, username, current_token=""):
        """The user's open sessions, newest first, without their tokens; `current` marks
        the one asking."""
        now = utcnow()
        current = token_hash(current_token) if current_token else ""
        rows = self.session.scalars(select(LoginSession).where(LoginSession.username == username)
                                    .order_by(LoginSession.created_at.desc()))
        idle = dt.timedelta(minutes=IDLE_MINUTES)
        return [{"id": session_id(s.token_hash), "current": s.token_hash == current,
                 "created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at or s.created_at),
                 "expires_at": _iso(min(s.expires_at, (s.last_seen_at or s.created_at) + idle)),
                 "client_address": s.client_address, "user_agent": s.user_agent}
                for s in rows if s.expires_at > now and (s.last_seen_at or s.created_at) + idle > now]

    def end_session(self, username, which):
        """End one of the user's own sessions by its id; NotFound if they have none such."""
        if not which or len(which) != 16 or any(c not in "0123456789abcdef" for c in which):
            raise NotFound(f"no session '{which}' of {username}")
        ended = self.session.execute(delete(LoginSession).where(
            LoginSession.username == username, LoginSession.token_hash.startswith(which, autoescape=True)))
        if not ended.rowcount:
            raise NotFound(f"no session '{which}' of {username}")
        return ended.rowcount

    def end_sessions(self, username, keep=None):
        """End every session of the user but the one of token `keep`; how many ended."""
        query = delete(LoginSession).where(LoginSession.username == username)
        if keep:
            query = query.where(LoginSession.token_hash != token_hash(keep))
        return self.session.execute(query).rowcount
