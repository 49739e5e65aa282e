"""What every page mixin of the web desk shares. The gateway's dependencies (station,
users, desk, catalogue) are the service's own."""
from services.web_desk.views import case_rows


class DeskBase:
    def desk_context(self, user, **extra):
        """The layout's context: station and user (None on public pages)."""
        return {"station": self.station, "user": user, "station_name": self.station_name,
                "department_name": self.department_name, **extra}

    def today(self):
        return self.desk.clock().date()

    def case_table(self, user, limit=50, offset=0, **filters):
        """(total, rows) of the station's cases this user may see, with deadline lights."""
        total, cases = self.desk.list(user, limit=limit, offset=offset, **filters)
        return total, case_rows(cases, self.today(), self.catalogue.calendar())

    def station_name(self, code):
        station = self.station.network.stations.get(code)
        return station.name if station else code

    def department_name(self, code):
        department = self.station.network.departments.get(code)
        return department.name if department else code
