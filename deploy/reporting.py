"""`tongban report`: the district's statistics as a terminal table or CSV."""
import requests

from services.config import load_network
from shared.supervision.statistics import format_table, to_csv


def fetch_report(settings, start, end, by, as_csv):
    network = load_network(settings.network_path)
    url = f"http://{settings.http_host}:{settings.port_for(network, network.district_code)}/api/stats"
    params = {"by": by, **({"from": start} if start else {}), **({"to": end} if end else {})}
    response = requests.get(url, params=params, timeout=120)
    if not response.ok:
        raise SystemExit(f"the district answered {response.status_code}: {response.text}")
    rows = response.json()["rows"]
    return to_csv(rows) if as_csv else format_table(rows)
