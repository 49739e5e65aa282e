"""A host process: runs the services of one station or of many, each station with its
own configuration (station code, database, HTTP port) in its own nameko containers.

A host owns the SQLite database of every station it serves (shared/db/ownership.py): a
second host for one of them refuses to start, naming the process that serves it.
SIGTERM, SIGINT and SIGHUP stop it: the containers finish what their workers are doing
for up to STOP_GRACE_SECONDS, then are killed (unacknowledged messages go back to their
queues and are delivered again; the consumers are idempotent). Started by `tongban up`,
it also stops when that launcher is gone (PARENT_ENV).
"""
import logging
import os
import signal

import eventlet
from nameko.containers import ServiceContainer

from deploy.lifecycle import PARENT_ENV, STOP_SIGNALS
from services.config import load_network
from services.district_rpc import district_service
from shared.db.ownership import StationLock, lock_path_for
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE

log = logging.getLogger(__name__)

# tests that show what the station lock prevents set this to "off"; nothing else should
LOCK_ENV = "TONGBAN_STATION_LOCK"
STOP_GRACE_SECONDS = 4
# a host still running this long after it began to stop (a container that will not die)
# exits at once: the launcher waits 10 s before it kills, and the broker requeues whatever
# was not acknowledged
HARD_STOP_SECONDS = 8

# RPC services the district serves under a name carrying its code
DISTRICT_RPC_SERVICES = ("catalogue", "cases")


def services_for(tier):
    # imported here so a host only loads the tiers it runs
    if tier == DISTRICT:
        from district.services import SERVICES
    elif tier == TOWNSHIP:
        from township.services import SERVICES
    elif tier == VILLAGE:
        from village.services import SERVICES
    else:
        raise ValueError(tier)
    return SERVICES


class Host:
    def __init__(self, settings, station_codes):
        self.settings = settings
        self.network = load_network(settings.network_path)
        self.stations = [self.network.station(code) for code in station_codes]
        self.containers = []
        self.locks = []

    def lock_stations(self):
        """Take the lock of every SQLite station served here (StationLocked if one is
        served by another process)."""
        if os.environ.get(LOCK_ENV) == "off":
            log.warning("station locks are off (%s=off): another process may serve these stations", LOCK_ENV)
            return
        try:
            for station in self.stations:
                path = lock_path_for(self.settings.database_for(station.code))
                if path is not None:
                    self.locks.append(StationLock(station.code, path).acquire())
        except Exception:
            self.unlock_stations()
            raise

    def unlock_stations(self):
        for lock in self.locks:
            lock.release()
        self.locks = []

    def start(self):
        for station in self.stations:
            config = self.settings.container_config(self.network, station.code)
            for service_cls in services_for(station.tier):
                if station.tier == DISTRICT and service_cls.name in DISTRICT_RPC_SERVICES:
                    service_cls = district_service(service_cls, service_cls.name, station.code)
                self.containers.append(ServiceContainer(service_cls, _workers_for(service_cls, config)))
        pool = eventlet.GreenPool(size=32)
        starting = [pool.spawn(container.start) for container in self.containers]
        for thread in starting:
            thread.wait()  # a container that cannot start (its set-up refused) is raised here
        log.info("host started %d station(s), %d containers", len(self.stations), len(self.containers))

    def stop(self):
        pool = eventlet.GreenPool(size=64)
        for container in self.containers:
            pool.spawn(container.stop)
        pool.waitall()

    def kill(self):
        for container in self.containers:
            container.kill()

    def run_until_signalled(self):
        self.lock_stations()
        try:
            self._serve_until_signalled()
        finally:
            self.unlock_stations()

    def _serve_until_signalled(self):
        stopping = eventlet.event.Event()

        def on_signal(signum, frame):
            # a second signal while stopping must not kill the process half-way
            for other in STOP_SIGNALS:
                signal.signal(other, signal.SIG_IGN)
            if not stopping.ready():
                stopping.send(signal.Signals(signum).name)

        for signum in STOP_SIGNALS:
            signal.signal(signum, on_signal)

        parent = os.environ.get(PARENT_ENV)
        if parent:
            eventlet.spawn(_watch_parent, int(parent), stopping)

        def watch(container):
            try:
                container.wait()
            except Exception as exc:  # a container crashed: take the host down
                if not stopping.ready():
                    stopping.send(exc)

        def start_and_watch():
            # starting waits for the broker; a signal must still stop the host meanwhile
            try:
                self.start()
            except Exception as exc:  # e.g. sample passwords on an open address: stop, saying why
                log.error("host cannot start: %s", exc)
                if not stopping.ready():
                    stopping.send(exc)
                return
            # every container at once: waiting on them one after another noticed a crash
            # only in the first, and a station whose inbox consumer had died kept running
            for container in self.containers:
                eventlet.spawn(watch, container)

        starter = eventlet.spawn(start_and_watch)
        reason = stopping.wait()
        log.info("host stopping (%s)", reason)
        _exit_if_stuck(HARD_STOP_SECONDS)
        starter.kill()
        with eventlet.Timeout(STOP_GRACE_SECONDS, False):
            self.stop()
        self.kill()
        if isinstance(reason, Exception):  # exit non-zero, so a supervisor starts it again
            raise SystemExit(f"host stopped: a container crashed ({reason!r})")


def _watch_parent(parent_pid, stopping):
    """Stop the host once its launcher is gone (this process is then re-parented)."""
    while not stopping.ready():
        if os.getppid() != parent_pid:
            log.warning("the launcher (process %s) is gone: stopping", parent_pid)
            stopping.send("launcher gone")
            return
        eventlet.sleep(1)


def _exit_if_stuck(seconds):
    """An OS thread (not a green one: it must run even if the hub is blocked) that ends
    the process if it is still here `seconds` from now."""
    real_threading = eventlet.patcher.original("threading")
    real_time = eventlet.patcher.original("time")

    def watchdog():
        real_time.sleep(seconds)
        log.error("host still stopping after %s s: exiting now", seconds)
        logging.shutdown()
        os._exit(1)

    real_threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()


# The gateway answers HTTP only, each request a green thread (no message prefetch hangs on
# its worker count), and refused logins and failed resident lookups are answered after a
# deliberate pause: with nameko's 10 workers, 16 connections sending wrong passwords held
# every worker of a station asleep and its other answers took a second. Its paused answers
# are capped below this (services/auth.py, services/gateway/residents.py).
GATEWAY_WORKERS = 64


def _workers_for(service_cls, config):
    if service_cls.name in ("gateway", "district_gateway"):
        return {**config, "max_workers": max(config.get("max_workers", 10), GATEWAY_WORKERS)}
    return config
