"""`tongban report`: the district's statistics as a terminal table or CSV."""
import requests

from deploy.station_client import StationClient
from services.config import load_network
from shared.supervision.statistics import format_table, to_csv


def fetch_report(settings, start, end, by, as_csv, username, password):
    network = load_network(settings.network_path)
    client = StationClient(lambda code: f"http://{settings.http_host}:{settings.port_for(network, code)}",
                           password=password, timeout=120, changes_passwords=False)
    params = {"by": by, **({"from": start} if start else {}), **({"to": end} if end else {})}
    try:
        response = client.get(network.district_code, "/api/stats", params=params, as_user=username)
    except requests.HTTPError as exc:  # the login was refused
        raise SystemExit(f"cannot log in at the district as {username}: {exc.response.text}") from None
    if not response.ok:
        raise SystemExit(f"the district answered {response.status_code}: {response.text}")
    rows = response.json()["rows"]
    return to_csv(rows) if as_csv else format_table(rows)
