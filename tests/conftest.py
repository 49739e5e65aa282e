"""Test set-up. eventlet patches the standard library first, as nameko's own runner does,
so tests may drive services with nameko.testing (worker_factory, entrypoint_hook) and the
standalone RPC proxy."""
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
# tests/support/network.py starts stations with a preexec_fn (so that they die with the
# test process), which makes eventlet warn about fork; the child only execs
warnings.filterwarnings("ignore", message="Using fork", category=DeprecationWarning)

# `from tests.support ...` however pytest is started
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eventlet  # noqa: E402

eventlet.monkey_patch()

import pytest  # noqa: E402

from shared.db.database import forget_databases  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.network import AMQP_URI, StationNetwork, check_broker, close_networks  # noqa: E402


def pytest_configure(config):
    # pytest applies its own warning filters around each test
    config.addinivalue_line("filterwarnings", "ignore:Using fork:DeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore:\\s*Eventlet is deprecated")


def pytest_report_header(config):
    where = f" at {databases.POSTGRES_URL}" if databases.ON_POSTGRESQL else ""
    return f"station databases: {databases.TEST_DATABASE}{where} (TONGBAN_TEST_DATABASE)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.tongban_failed = True
        item.session.tongban_failed = True
    return report


@pytest.fixture(scope="session")
def amqp_uri():
    """The RabbitMQ the network tests use. Unreachable is a failure, never a skip:
    `bash deploy/bootstrap.sh test` starts it."""
    problem = check_broker(AMQP_URI)
    if problem:
        pytest.fail(f"RabbitMQ is not reachable at {AMQP_URI} ({problem}). Start it with "
                    f"`rabbitmq-server -detached` (or run `bash deploy/bootstrap.sh test`), "
                    f"or point TONGBAN_TEST_AMQP_URI at a broker.", pytrace=False)
    return AMQP_URI


@pytest.fixture
def memory_db():
    """A fresh station database with every table: in-memory SQLite, or an emptied
    PostgreSQL database under TONGBAN_TEST_DATABASE=postgresql (tests/support/databases.py)."""
    with databases.scratch_databases.database() as db:
        yield db


@pytest.fixture(autouse=True, scope="session")
def _forget_databases():
    """On PostgreSQL the server must answer (a failure, never a skip), and every database
    this run made is dropped at its end."""
    if databases.ON_POSTGRESQL:
        problem = databases.check_postgres()
        if problem:
            pytest.fail(f"PostgreSQL is not reachable at {databases.POSTGRES_URL} ({problem}). "
                        f"Run `bash deploy/bootstrap.sh test`, or point TONGBAN_TEST_POSTGRES_URL "
                        f"at a server.", pytrace=False)
        databases.drop_stale_databases()
    yield
    databases.scratch_databases.close()
    forget_databases()
    if databases.ON_POSTGRESQL:
        databases.drop_databases(databases.RUN)


@pytest.fixture
def station_network_factory(amqp_uri, tmp_path_factory, request):
    """Makes StationNetwork objects (kwargs as StationNetwork's); all of them are closed,
    with every process they started, when the test ends, passed or failed."""
    networks = []

    def make(name="net", **kwargs):
        kwargs.setdefault("amqp_uri", amqp_uri)
        net = StationNetwork(tmp_path_factory.mktemp(name), **kwargs)
        networks.append(net)
        return net

    yield make
    close_networks(networks, failed=getattr(request.node, "tongban_failed", False))
