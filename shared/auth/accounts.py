"""A station's users and their logins, in the station's own database."""
import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select

from shared.auth import roles
from shared.auth.passwords import MIN_LENGTH, dummy_hash, hash_password, needs_rehash, verify_password
from shared.auth.schemas import NewUserSchema, UserSchema
from shared.db.models import LoginSession, User, utcnow
from shared.exceptions import Conflict, InvalidInput, NotFound, Unauthorized
from shared.validation import load

SESSION_HOURS = 10  # a working day at the counter, with the lunch break


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    def add(self, data):
        request = load(NewUserSchema(), data)
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
                    password_hash=hash_password(request["password"]), active=True)
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
        self.get(username).password_hash = hash_password(password)
        self.session.execute(delete(LoginSession).where(LoginSession.username == username))

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

    def open_session(self, username, password=None, hours=SESSION_HOURS):
        """A new session token (shown once); `password` when its hash needs upgrading."""
        user = self.get(username)
        if password is not None:
            user.password_hash = hash_password(password)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + dt.timedelta(hours=hours)
        self.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
        self.session.add(LoginSession(token_hash=token_hash(token), username=username, created_at=now,
                                      expires_at=expires))
        return {"token": token, "expires_at": expires.isoformat() + "Z", "user": self.view(user)}

    def log_out(self, token):
        self.session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))

    def user_of(self, token):
        """The user a token belongs to, as a dict; Unauthorized if it is unknown or expired."""
        if not token:
            raise Unauthorized("请先登录：this request needs a session token (POST /api/login)")
        row = self.session.execute(
            select(User, LoginSession.expires_at).join(LoginSession, LoginSession.username == User.username)
            .where(LoginSession.token_hash == token_hash(token))).first()
        if row is None or not row[0].active:
            raise Unauthorized("登录已失效，请重新登录：the session token is unknown or was ended")
        if row[1] <= utcnow():
            raise Unauthorized("登录已过期，请重新登录：the session token has expired")
        return self.view(row[0])
