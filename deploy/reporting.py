"""`tongban report`: the district's statistics as a terminal table or CSV: the cases'
figures, then the service halls' (waiting and service times, no-shows, appointments)."""
import requests

from deploy.station_client import StationClient
from services.config import load_network
from shared.hall import waiting
from shared.supervision.statistics import format_table, to_csv


def fetch_report(settings, start, end, by, as_csv, username, password, hall_by=None, hall_only=False):
    """The report's text. The table shows the cases' figures, then the halls' (grouped by
    `hall_by`; by default as `by` when the halls know that grouping); `hall_only`: the
    halls' alone. A CSV holds one table: the cases', or with `hall_only` the halls'."""
    network = load_network(settings.network_path)
    client = StationClient(lambda code: f"http://{settings.http_host}:{settings.port_for(network, code)}",
                           password=password, timeout=120, changes_passwords=False)
    params = {"by": by, **({"from": start} if start else {}), **({"to": end} if end else {}),
              **({"hall_by": hall_by} if hall_by else {})}
    try:
        response = client.get(network.district_code, "/api/stats", params=params, as_user=username)
    except requests.HTTPError as exc:  # the login was refused
        raise SystemExit(f"cannot log in at the district as {username}: {exc.response.text}") from None
    if not response.ok:
        raise SystemExit(f"the district answered {response.status_code}: {response.text}")
    answer = response.json()
    rows, hall = answer["rows"], answer.get("hall") or []
    if as_csv:
        return waiting.to_csv(hall) if hall_only else to_csv(rows)
    hall_table = "服务大厅（取号、等候、办理）\n" + waiting.format_table(hall)
    return hall_table if hall_only else format_table(rows) + "\n" + hall_table
