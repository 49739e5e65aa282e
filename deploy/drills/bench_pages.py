"""`tongban bench pages`: the district's supervision pages, the public board and the API
behind them, timed over HTTP on a generated full year.

1. A year of the sample district (default 122,493 cases, `tongban bench record`'s
   generator, deploy/drills/record.py) is written straight into the district's empty
   database (SQLite by default; PostgreSQL with `--database-url
   postgresql+pg8000://postgres@127.0.0.1/tongban_bench_{station}`), with each case's
   filing entry in its history (the counter user the assessment ranks: three or four
   per station), then the planner's statistics are refreshed (ANALYZE / VACUUM ANALYZE).
2. The district alone is started as `tongban up` starts it (a host process, harness
   StationNetwork, on the broker of the settings: use a private one), with a supervisor
   made for the run; its patrol runs once at start and is then left alone.
3. Each page or call is asked `--repeat` times (after two unmeasured warm-ups), one after
   the other, as the supervisor (API: Bearer token; desk pages: the desk's session
   cookie) or without a login (the board); p50 and p95 of the wall time per request,
   client included. A page that does not answer 200 is reported with its status, not timed.

The figures are upper bounds on a machine shared with other work. The databases are
dropped at the end unless `--keep`; `--reuse` times again the record a `--keep` run left
in the database (the page month is that of its last filing day), without generating it.
"""
import datetime as dt
import hashlib
import re
import shutil
import tempfile
import time

import requests
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.pool import NullPool

from deploy.drills import record
from deploy.drills.bench_cases import percentile
from deploy.drills.harness import StationNetwork
from shared.auth.accounts import Accounts
from shared.db.database import get_database
from shared.db.migrate import drop_database
from shared.db.models import Case, CaseHistoryEntry
from shared.supervision import assessment

PASSWORD = "Bench-pages-Passw0rd-2026"
SUPERVISOR = "bench.supervisor"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
HISTORY_BATCH = 5000


def counter_users(station):
    """The counter staff of a station in the benchmark: 3 or 4 signed names, stable."""
    digest = hashlib.sha256(station.encode()).digest()
    count = 3 + digest[0] % 2
    return [f"{SURNAMES[digest[1 + 2 * n] % len(SURNAMES)]}{GIVEN[digest[2 + 2 * n] % len(GIVEN)]}"
            f"（{station}.c{n + 1}）" for n in range(count)]


def add_filing_entries(database, echo):
    """Give every generated case the `file` entry of its history, by one of its station's
    counter users (the generator writes the case rows only)."""
    started, written, staff = time.perf_counter(), 0, {}
    with database.reading() as session:
        rows = session.execute(select(Case.case_no, Case.filing_station, Case.filed_at)).all()
    for first in range(0, len(rows), HISTORY_BATCH):
        batch = []
        for case_no, station, filed_at in rows[first:first + HISTORY_BATCH]:
            users = staff.setdefault(station, counter_users(station))
            actor = users[int(hashlib.md5(case_no.encode()).hexdigest()[:6], 16) % len(users)]
            batch.append({"entry_id": f"{case_no}-1", "case_no": case_no, "seq": 1,
                          "at": filed_at.isoformat() + "+08:00", "station": station, "actor": actor,
                          "action": "file", "from_status": None, "to_status": "accepted", "reason": ""})
        with database.transaction() as session:
            session.execute(insert(CaseHistoryEntry), batch)
        written += len(batch)
    echo(f"{written:,} filing entries written in {time.perf_counter() - started:.1f} s "
         f"({sum(len(s) for s in staff.values())} counter users)")


def refresh_statistics(database):
    if database.engine.dialect.name == "postgresql":
        # an engine of its own in autocommit: VACUUM cannot run inside a transaction block
        engine = create_engine(database.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                for table in ("cases", "supervision_alerts", "case_history"):
                    connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
        finally:
            engine.dispose()
    else:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")


def pages(end):
    """[(what, path, params, who)] to time; `who`: "api" (Bearer), "desk" (cookie) or None."""
    month = f"{end:%Y-%m}"
    the_quarter = assessment.quarter_of(assessment.month(month)).label
    month_start = end.replace(day=1).isoformat()
    year_start = (end - dt.timedelta(days=364)).isoformat()
    calls = [("board (public)", "/desk/board", {"month": month}, None)]
    for by in assessment.GROUPINGS:
        calls.append((f"/api/assessment month by={by}", "/api/assessment", {"month": month, "by": by}, "api"))
    for by in ("station", "user"):
        calls.append((f"/api/assessment quarter by={by}", "/api/assessment", {"quarter": the_quarter, "by": by},
                      "api"))
    for by in ("station", "department", "tier", "item"):
        calls.append((f"/api/stats month by={by}", "/api/stats", {"from": month_start, "to": end.isoformat(),
                                                                   "by": by}, "api"))
    calls.append(("/api/stats year by=station", "/api/stats", {"from": year_start, "to": end.isoformat(),
                                                               "by": "station"}, "api"))
    calls += [
        ("/api/supervision/lights red", "/api/supervision/lights", {"light": "red"}, "api"),
        ("/api/supervision/alerts", "/api/supervision/alerts", {}, "api"),
        ("/api/supervision/cards", "/api/supervision/cards", {}, "api"),
        ("/api/follow-ups", "/api/follow-ups", {}, "api"),
        ("/desk/supervision (board)", "/desk/supervision", {}, "desk"),
        ("/desk/supervision red", "/desk/supervision", {"light": "red"}, "desk"),
        ("/desk/supervision/cards", "/desk/supervision/cards", {}, "desk"),
        ("/desk/supervision/stats", "/desk/supervision/stats", {}, "desk"),
        ("/desk/supervision/screen", "/desk/supervision/screen", {}, "desk"),
        ("/desk/supervision/assessment", "/desk/supervision/assessment", {"month": month}, "desk"),
    ]
    return calls


def desk_session(url):
    """A browser session logged in at the desk through its login form."""
    browser = requests.Session()
    login_page = browser.get(url + "/desk/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    response = browser.post(url + "/desk/login", allow_redirects=False, timeout=30,
                            data={"username": SUPERVISOR, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"desk login refused: {response.status_code} {response.text[:200]}")
    return browser


def measure(url, end, repeat, echo):
    """[(what, status, p50 s, p95 s, calls)]."""
    api = requests.Session()
    # the first patrol over a year (minutes on a busy machine on PostgreSQL) may hold the login back
    login = api.post(url + "/api/login", json={"username": SUPERVISOR, "password": PASSWORD}, timeout=600)
    login.raise_for_status()
    api.headers["Authorization"] = f"Bearer {login.json()['token']}"
    clients = {"api": api, "desk": desk_session(url), None: requests.Session()}
    results = []
    for what, path, params, who in pages(end):
        client = clients[who]
        status = client.get(url + path, params=params, timeout=120, allow_redirects=False).status_code
        if status != 200:
            results.append((what, status, None, None, 0))
            echo(f"  {what}: HTTP {status}, not timed")
            continue
        client.get(url + path, params=params, timeout=120)
        spent = []
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(url + path, params=params, timeout=120, allow_redirects=False)
            spent.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"{what}: HTTP {response.status_code} during the run")
        results.append((what, 200, percentile(spent, 50), percentile(spent, 95), len(spent)))
        echo(f"  {what}: p50 {percentile(spent, 50) * 1000:.0f} ms, p95 {percentile(spent, 95) * 1000:.0f} ms")
    return results


def format_results(results, limit=1.0):
    width = max(len(what) for what, *_ in results)
    lines = [f"{'page or call':<{width}}  {'p50':>9}  {'p95':>9}  calls", "-" * (width + 32)]
    for what, status, p50, p95, calls in results:
        if status != 200:
            lines.append(f"{what:<{width}}  {'HTTP ' + str(status):>9}  {'—':>9}  0")
        else:
            flag = "  OVER 1 s" if p95 > limit else ""
            lines.append(f"{what:<{width}}  {p50 * 1000:>6.1f} ms  {p95 * 1000:>6.1f} ms  {calls}{flag}")
    return "\n".join(lines)


def run(settings, count, seed, repeat, keep, echo, reuse=False):
    settings.data_dir = tempfile.mkdtemp(prefix="tongban-bench-pages-")
    settings.supervision_seconds = 86400.0  # the patrol runs once at start, not during the timing
    net = StationNetwork(settings, per_process=1, clean_env=False, startup_timeout=300)
    district = net.district_code
    url_of_database = settings.database_for(district)
    try:
        echo(f"district database: {url_of_database.split('@')[-1]}")
        net.prepare()  # the broker's network and the sample catalogue in the district's database
        database = get_database(url_of_database)
        with database.reading() as session:
            last_filed = session.scalar(select(func.max(Case.filed_date)))
        if reuse:
            if last_filed is None:
                raise SystemExit(f"{url_of_database.split('@')[-1]} holds no cases: --reuse times a kept record")
            keep, end = True, last_filed  # the year a --keep run left, timed again
            echo(f"timing the record already there (filed up to {end})")
            refresh_statistics(database)  # the indexes a migration since may have made
        else:
            if last_filed is not None:
                keep = True  # not ours to drop
                raise SystemExit(f"{url_of_database.split('@')[-1]} already holds cases: give an empty database "
                                 "(or --reuse the record a --keep run left)")
            network, items = record.load_sample()
            end = record.generate(database, network, items, count, 1, seed, echo=echo).end
            add_filing_entries(database, echo)
            refresh_statistics(database)
            with database.transaction() as session:
                Accounts(session, network.station(district), network).add(
                    {"username": SUPERVISOR, "name": "基准监察员", "role": "supervisor", "department": None,
                     "password": PASSWORD})
        started = time.monotonic()
        net.start([district])
        echo(f"district up in {time.monotonic() - started:.1f} s; letting its first patrol finish")
        time.sleep(20)
        echo(f"timing {repeat} requests per page (the record ends {end}):")
        results = measure(net.url(district), end, repeat, echo)
        echo(format_results(results))
        return results
    finally:
        net.close()
        if not keep:
            drop_database(url_of_database)
            shutil.rmtree(settings.data_dir, ignore_errors=True)  # the run's logs and broker passwords
