"""Schema migrations of the station database (shared/db/migrations/), on the database
the suite runs on (SQLite, or PostgreSQL under TONGBAN_TEST_DATABASE=postgresql).

The central test makes a database with the first released schema (revision 0001), fills
it the way a station does — a case with its history, outbox rows sent and unsent, the
catalogue's changes — and upgrades it: every row must still be there, and the station's
own code must read it. Rows are written and compared through the tables as the database
has them, not through shared/db/models.py, so the test stays true when later revisions
change the models."""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.pool import NullPool

from shared.cases.store import CaseRepository
from shared.cases.summary import COLUMNS as SUMMARY, ONLINE_COLUMNS, summary
from shared.catalogue.store import CatalogueStore
from shared.db import migrate, outbox
from shared.db.database import forget_databases, get_database
from shared.db.migrations import BASELINE, HEAD
from shared.db.models import Base
from tests.support.databases import ON_POSTGRESQL, drop_network_databases, station_url, url_template

ROOT = Path(__file__).resolve().parent.parent
SMALL_NETWORK = ROOT / "tests" / "data" / "network_small.yaml"
STATION = "449901001001"
CASE_NO = f"{STATION}-20260105-00001"


@pytest.fixture
def template(tmp_path):
    """A database URL template for this test (None: SQLite files in tmp_path); every
    database made from it is dropped afterwards."""
    template = url_template("mig")
    yield template
    forget_databases(lambda url: template is not None and url.startswith(template.split("{")[0]))
    drop_network_databases(template)


@pytest.fixture
def new_url(template, tmp_path):
    """The URL of a station database that does not exist yet."""
    return station_url(template, tmp_path, STATION)


def engine_for(url):
    return create_engine(url, poolclass=NullPool)


# -- data as a station of release 0001 wrote it ---------------------------------------------
def case_snapshot():
    return {"case_no": CASE_NO, "revision": 2, "status": "forwarded", "acceptance": "accepted",
            "item": {"code": "MZ-002", "name": "最低生活保障申请", "department": "civil_affairs"},
            "filing_station": STATION, "holder_station": "449901001", "deciding_station": "449901",
            "filed_at": "2026-01-05T09:30:00+08:00", "due_date": "2026-01-19",
            "applicant": {"name": "黄秀英", "id_number": "449901196203140012"},
            "history": [
                {"entry_id": f"{CASE_NO}-1", "seq": 1, "at": "2026-01-05T09:30:00+08:00", "station": STATION,
                 "actor": "林代办", "action": "file", "from_status": None, "to_status": "accepted", "reason": ""},
                {"entry_id": f"{CASE_NO}-2", "seq": 2, "at": "2026-01-05T09:30:01+08:00", "station": STATION,
                 "actor": "林代办", "action": "forward", "from_status": "accepted", "to_status": "forwarded",
                 "reason": "上报镇街审核"}]}


def item_payload(version):
    return {"code": "MZ-002", "name": "最低生活保障申请", "department": "civil_affairs",
            "category": "public_service", "processing_type": "promised", "status": "current",
            "authority_tier": "district", "keywords": ["低保"], "version": version}


def release_0001_rows():
    """{table: [row, ...]} as a village station of the first release holds them."""
    case = case_snapshot()
    at = dt.datetime(2026, 1, 5, 1, 30)
    return {
        "catalogue_changes": [
            {"version": 1, "kind": "add", "item_code": "MZ-002", "payload": item_payload(1),
             "made_at": "2026-01-02T08:00:00+08:00", "made_by": "区政务服务数据管理局", "applied_at": at},
            {"version": 2, "kind": "calendar", "item_code": None,
             "payload": {"year": 2026, "holidays": ["2026-01-01"], "workdays": ["2026-01-04"]},
             "made_at": "2026-01-02T08:05:00+08:00", "made_by": "区政务服务数据管理局", "applied_at": at},
            {"version": 3, "kind": "edit", "item_code": "MZ-002", "payload": item_payload(3),
             "made_at": "2026-01-03T10:00:00+08:00", "made_by": "区民政局", "applied_at": at}],
        "items": [{"code": "MZ-002", "version": 3, "status": "current", "name": "最低生活保障申请",
                   "department": "civil_affairs", "category": "public_service", "processing_type": "promised",
                   "authority_tier": "district", "search_text": "最低生活保障申请 低保", "payload": item_payload(3)}],
        "calendar_schedules": [{"year": 2026, "version": 2,
                                "payload": {"year": 2026, "holidays": ["2026-01-01"], "workdays": ["2026-01-04"]}}],
        "cases": [{"case_no": CASE_NO, "item_code": "MZ-002", "department": "civil_affairs", "status": "forwarded",
                   "filing_station": STATION, "deciding_station": "449901", "holder_station": "449901001",
                   "held_here": False, "revision": 2, "filed_at": dt.datetime(2026, 1, 5, 9, 30), "updated_at": at,
                   "due_date": dt.date(2026, 1, 19), "snapshot": case}],
        "case_history": [{"case_no": CASE_NO, **entry} for entry in case["history"]],
        "case_sequences": [{"station": STATION, "day": "20260105", "last": 1}],
        "outbox": [
            {"id": 1, "message_id": "m-sent", "exchange": "tongban.cases", "routing_key": "449901001",
             "kind": "case.handover", "body": {"message_id": "m-sent", "body": {"case": case}},
             "created_at": at, "sent_at": at + dt.timedelta(seconds=1)},
            {"id": 2, "message_id": "m-unsent", "exchange": "tongban.cases", "routing_key": "449901",
             "kind": "case.record", "body": {"message_id": "m-unsent", "body": {"case": case}},
             "created_at": at, "sent_at": None}],
        "processed_messages": [{"message_id": "catalogue-3", "kind": "catalogue.change", "processed_at": at}],
        "station_alerts": [{"message_id": "alert-1", "case_no": CASE_NO, "kind": "warning",
                            "department": "civil_affairs", "text": "即将到期", "raised_at": "2026-01-16T09:00:00+08:00"}],
    }


def write_rows(engine, rows):
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        for name, table_rows in rows.items():
            connection.execute(metadata.tables[name].insert(), table_rows)
        if connection.dialect.name == "postgresql":  # as if the rows had got their ids from the sequence
            connection.execute(text("SELECT setval('outbox_id_seq', 2)"))


def read_rows(engine, names):
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {name: [dict(r._mapping) for r in connection.execute(
            select(metadata.tables[name]).order_by(*metadata.tables[name].primary_key.columns))]
            for name in names}


# columns later revisions added to tables of the first release, filled in by the upgrade
SUMMARY_COLUMNS = (*SUMMARY, "working_days")
ADDED_COLUMNS = {"cases": ("departments", *SUMMARY_COLUMNS, *ONLINE_COLUMNS)}


def as_first_release(rows):
    """The rows as the first release had them: without the columns added since."""
    return {table: [{k: v for k, v in row.items() if k not in ADDED_COLUMNS.get(table, ())} for row in found]
            for table, found in rows.items()}


def revision_of(engine):
    with engine.connect() as connection:
        return migrate.current_revision(connection)


def index_names(engine, table):
    return {index["name"] for index in inspect(engine).get_indexes(table)}


# -- the tests ------------------------------------------------------------------------------------
def test_head_is_the_newest_script_and_history_is_one_line():
    assert migrate.script_heads() == (HEAD,)
    revisions = [revision for revision, _ in migrate.revisions()]
    assert revisions[0] == BASELINE == "0001" and revisions[-1] == HEAD
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)


def test_newest_revision_matches_the_models(memory_db):
    """models.py and the migrations describe the same schema (else: `tongban db revision`)."""
    with memory_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert migrate.current_revision(connection) == HEAD


def test_upgrade_from_the_first_released_schema_keeps_every_row(new_url):
    migrate.ensure_database(new_url)
    engine = engine_for(new_url)
    try:
        assert migrate.upgrade(engine, BASELINE) == (None, BASELINE)
        assert "ix_cases_department_status" not in index_names(engine, "cases")
        rows = release_0001_rows()
        write_rows(engine, rows)
        before = read_rows(engine, rows)
        assert before["cases"][0]["snapshot"] == case_snapshot()

        assert migrate.upgrade(engine) == (BASELINE, HEAD)

        assert revision_of(engine) == HEAD
        after = read_rows(engine, rows)
        # 0003 adds the departments deciding each case, filled in from the snapshot
        assert [case.pop("departments") for case in after["cases"]] == [",civil_affairs,"]
        # 0010 adds the case's summary, filled in from the snapshot as CaseRepository.save fills it
        filled = {key: after["cases"][0].pop(key) for key in SUMMARY_COLUMNS}
        assert filled == {**summary(case_snapshot()), "working_days": None}
        assert filled["filed_date"] == dt.date(2026, 1, 5) and filled["filing_tier"] == "village"
        # 0015: a case of before was filed at a counter: not online, one visit, no pre-review
        online = {key: after["cases"][0].pop(key) for key in ONLINE_COLUMNS}
        assert online == {"online": False, "visits": 1, "pre_review_answers": 0, "pre_review_on_time": 0}
        assert after == before
        # 0010 extends 0002's index of lists by department and status with the filing time
        assert {"ix_cases_department_status_filed", "ix_cases_filed_at"} <= index_names(engine, "cases")
        # the station's own code reads and extends what the old release wrote
        database = get_database(new_url)
        with database.reading() as session:
            assert CaseRepository(session, STATION).load(CASE_NO) == case_snapshot()
            assert [h["action"] for h in CaseRepository(session, STATION).history(CASE_NO)] == ["file", "forward"]
            assert CaseRepository(session, STATION).list(department="civil_affairs", status="forwarded")[0] == 1
            assert CaseRepository(session, STATION).list(involving="civil_affairs")[0] == 1
            assert CaseRepository(session, STATION).list(involving="civil")[0] == 0
            store = CatalogueStore(session)
            assert store.version() == 3 and [c["version"] for c in store.changes_since(0)] == [1, 2, 3]
            assert store.search("低保")[0] == 1 and store.schedules()[0]["year"] == 2026
            assert [m.message_id for m in outbox.unsent(session)] == ["m-unsent"]
        with database.transaction() as session:
            outbox.add_message(session, "tongban.cases", "449901", "case.record", {"case_no": CASE_NO}, STATION)
            assert CaseRepository(session, STATION).next_case_no(dt.date(2026, 1, 5)) == f"{STATION}-20260105-00002"
        with database.reading() as session:
            assert [m.id for m in outbox.unsent(session)][-1] == 3
    finally:
        engine.dispose()


def test_downgrade_to_the_first_release_and_back_keeps_every_row(new_url):
    database = get_database(new_url)
    rows = release_0001_rows()
    write_rows(database.engine, rows)
    before = as_first_release(read_rows(database.engine, rows))
    assert migrate.downgrade(database.engine, BASELINE) == (HEAD, BASELINE)
    assert "ix_cases_filed_at" not in index_names(database.engine, "cases")
    assert read_rows(database.engine, rows) == before
    assert migrate.upgrade(database.engine) == (BASELINE, HEAD)
    assert as_first_release(read_rows(database.engine, rows)) == before


def test_database_made_before_migrations_is_taken_as_the_first_release(new_url):
    """Stations of the first release made their tables with create_all and no version table."""
    migrate.ensure_database(new_url)
    engine = engine_for(new_url)
    try:
        migrate.upgrade(engine, BASELINE)
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
        rows = release_0001_rows()
        write_rows(engine, rows)
        before = read_rows(engine, rows)
        assert revision_of(engine) == "unversioned"
        database = get_database(new_url)  # what a station does when it starts
        assert revision_of(database.engine) == HEAD
        assert as_first_release(read_rows(database.engine, rows)) == before
    finally:
        engine.dispose()


def test_a_new_station_database_is_created_and_a_current_one_opens_without_alembic(new_url):
    assert not migrate.database_exists(new_url)
    database = get_database(new_url)
    assert migrate.database_exists(new_url) and revision_of(database.engine) == HEAD
    assert get_database(new_url) is database
    if ON_POSTGRESQL:  # made to sort and compare text as SQLite does
        with database.engine.connect() as connection:
            assert connection.scalar(text("SELECT datcollate FROM pg_database WHERE datname = current_database()")) == "C"
    # a station starting on a current database: one query, Alembic not even imported
    probe = ("import sys, time; from shared.db.database import get_database; t = time.monotonic(); "
             f"get_database({new_url!r}); print(round(time.monotonic() - t, 3), 'alembic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seconds, alembic_loaded = result.stdout.split()
    assert alembic_loaded == "False"
    print(f"opening a current station database took {seconds} s")


def test_0009_drops_the_dead_letters_table_nothing_wrote_and_its_downgrade_makes_it_again(new_url):
    """Dead letters wait in the broker's dead-letter queues (services/dead_letters.py); the
    first release's table for them was never written."""
    migrate.ensure_database(new_url)
    engine = engine_for(new_url)
    try:
        assert migrate.upgrade(engine, "0008") == (None, "0008")
        assert "dead_letters" in inspect(engine).get_table_names()
        assert migrate.upgrade(engine, "0009") == ("0008", "0009")
        assert "dead_letters" not in inspect(engine).get_table_names()
        assert migrate.downgrade(engine, "0008") == ("0009", "0008")
        columns = [c["name"] for c in inspect(engine).get_columns("dead_letters")]
        assert columns == ["id", "message_id", "queue", "kind", "body", "reason", "failed_at", "retried_at"]
    finally:
        engine.dispose()


def test_db_commands_upgrade_and_report_every_station(template, tmp_path):
    from deploy.cli import main
    base = ["--network", str(SMALL_NETWORK), "--data", str(tmp_path)]
    if template:
        base += ["--database-url", template]
    runner = CliRunner()
    result = runner.invoke(main, base + ["db", "current"])
    assert result.exit_code == 0 and result.output.count("no database") == 7, result.output
    result = runner.invoke(main, base + ["db", "upgrade"])
    assert result.exit_code != 0 and "--all" in result.output
    # one station made by the first release, the others missing
    old_url = station_url(template, tmp_path, STATION)
    migrate.ensure_database(old_url)
    engine = engine_for(old_url)
    try:
        migrate.upgrade(engine, BASELINE)
        write_rows(engine, release_0001_rows())
    finally:
        engine.dispose()
    result = runner.invoke(main, base + ["db", "upgrade", "--station", STATION])
    assert result.exit_code == 0 and f"{STATION}  schema 0001 -> {HEAD}" in result.output, result.output
    result = runner.invoke(main, base + ["db", "upgrade", "--all"])
    assert result.exit_code == 0, result.output
    assert result.output.count("created") == 6 and f"schema {HEAD} (already)" in result.output
    result = runner.invoke(main, base + ["db", "current", "--station", STATION])
    assert result.output.split() == [STATION, HEAD]
    engine = engine_for(old_url)
    try:
        assert read_rows(engine, ["cases"])["cases"][0]["snapshot"] == case_snapshot()
    finally:
        engine.dispose()
    result = runner.invoke(main, base + ["db", "downgrade", BASELINE, "--station", STATION])
    assert result.exit_code == 0 and f"schema {HEAD} -> {BASELINE}" in result.output, result.output
    result = runner.invoke(main, ["db", "history"])
    assert result.output.splitlines()[0].startswith(f"{BASELINE}  ") and "(newest)" in result.output


def test_json_text_and_dates_round_trip_alike(memory_db):
    """What SQLite let pass and PostgreSQL might not: Chinese text in JSON and columns,
    nested JSON, booleans, dates; search treats % and _ literally and ignores ASCII case."""
    rows = release_0001_rows()
    write_rows(memory_db.engine, {k: rows[k] for k in ("catalogue_changes", "items", "cases")})
    with memory_db.reading() as session:
        store = CatalogueStore(session)
        assert store.search("mz-002")[0] == 1 and store.search("MZ-002")[0] == 1
        assert store.search("低保")[0] == 1 and store.search("低%")[0] == 0 and store.search("MZ_002")[0] == 0
        repository = CaseRepository(session, "449901001")
        assert repository.list(held_here=False)[0] == 1 and repository.list(held_here=True)[0] == 0
        assert json.dumps(repository.load(CASE_NO), sort_keys=True) == json.dumps(case_snapshot(), sort_keys=True)


def test_a_host_running_many_new_stations_creates_and_migrates_all_their_databases(station_network_factory):
    """A host starts its stations side by side (green threads): their databases are made
    and migrated at once, and Alembic, which keeps its state in module globals, must run
    one migration at a time."""
    net = station_network_factory("one-host")
    net.start([net.codes])  # all seven stations in one process, on databases that do not exist yet
    for code in net.codes:
        engine = engine_for(net.database_url(code))
        try:
            assert revision_of(engine) == HEAD, code
        finally:
            engine.dispose()
