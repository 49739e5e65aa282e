"""A user's own account over the API: changing their password, seeing and ending their
sessions; and an administrator's unlock of a locked-out username."""
from services.http import http, json_body, json_response
from shared.auth import permissions, roles


class MyAccountEndpoints:
    @http("POST", "/api/me/password")
    def change_my_password(self, request):
        """{current_password, new_password}: the new one must pass the policy (400 naming
        the problem); every other session of the user ends."""
        user = self.users.user(request)
        with self.access_audit.change(user, "change_password"):  # recorded, made or refused
            changed = self.users.change_password(request, json_body(request))
        return json_response(changed)

    @http("GET", "/api/me/sessions")
    def my_sessions(self, request):
        """The user's open sessions (no tokens), the one asking marked `current`."""
        return json_response({"sessions": self.users.sessions(request)})

    @http("DELETE", "/api/me/sessions/<string:session_id>")
    def end_my_session(self, request, session_id):
        with self.access_audit.change(self.users.user(request), "end_session"):
            ended = self.users.end_session(request, session_id)
        return json_response({"ended": ended})

    @http("POST", "/api/me/sessions/end-others")
    def end_my_other_sessions(self, request):
        """Every session of the user but the one asking (a phone left logged in...)."""
        with self.access_audit.change(self.users.user(request), "end_other_sessions"):
            ended = self.users.end_other_sessions(request)
        return json_response({"ended": ended})

    @http("POST", "/api/users/<string:username>/unlock")
    def unlock_user(self, request, username):
        """Forget a username's failed logins, ending its lockout (administrators)."""
        administrator = self.users.user(request)
        with self.access_audit.change(administrator, "unlock_user"):  # services/access_audit.py
            permissions.require(administrator, "manage_users", roles.ADMINISTRATOR)
            unlocked = self.users.unlock(username)
        return json_response(unlocked)
