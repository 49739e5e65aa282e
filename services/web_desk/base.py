"""What every page mixin of the web desk shares. The gateway's dependencies (station,
users, desk, catalogue) are the service's own."""
from services.web_desk.guard import DeskGuard
from services.web_desk.views import case_rows
from shared.supervision.lights import light


class DeskBase:
    guard = DeskGuard()

    def desk_context(self, user, **extra):
        """The layout's context: station and user (None on public pages), and the token
        every form carries (`<input type="hidden" name="csrf_token" value="{{ form_token }}">`)."""
        return {"station": self.station, "user": user, "station_name": self.station_name,
                "department_name": self.department_name, "form_token": self.guard.form_token(), **extra}

    def today(self):
        return self.desk.clock().date()

    def light_rule(self):
        """light_of(case): its deadline light today, by the district's supervision policy
        (the rule the district's patrol applies)."""
        today, calendar = self.today(), self.catalogue.calendar()
        yellow_days = self.station.network.supervision.yellow_days
        return lambda case: light(case, today, calendar, yellow_days)

    def case_table(self, user, limit=50, offset=0, **filters):
        """(total, rows) of the station's cases this user may see, with deadline lights."""
        total, cases = self.desk.list(user, limit=limit, offset=offset, **filters)
        return total, case_rows(cases, self.light_rule())

    def station_name(self, code):
        station = self.station.network.stations.get(code)
        return station.name if station else code

    def department_name(self, code):
        department = self.station.network.departments.get(code)
        return department.name if department else code
