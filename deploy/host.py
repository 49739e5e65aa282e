"""A host process: runs the services of one station or of many, each station with its
own configuration (station code, database, HTTP port) in its own nameko containers."""
import logging
import signal

import eventlet
from nameko.containers import ServiceContainer

from services.config import load_network
from services.district_rpc import district_service
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE

log = logging.getLogger(__name__)

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

    def start(self):
        for station in self.stations:
            config = self.settings.container_config(self.network, station.code)
            for service_cls in services_for(station.tier):
                if station.tier == DISTRICT and service_cls.name in DISTRICT_RPC_SERVICES:
                    service_cls = district_service(service_cls, service_cls.name, station.code)
                self.containers.append(ServiceContainer(service_cls, config))
        pool = eventlet.GreenPool(size=32)
        for container in self.containers:
            pool.spawn(container.start)
        pool.waitall()
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
        stopping = eventlet.event.Event()

        def on_signal(signum, frame):
            # a second signal while stopping must not kill the process half-way
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if not stopping.ready():
                stopping.send(signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        def watch(container):
            try:
                container.wait()
            except Exception as exc:  # a container crashed: take the host down
                if not stopping.ready():
                    stopping.send(exc)

        def start_and_watch():
            # starting waits for the broker; a signal must still stop the host meanwhile
            self.start()
            # every container at once: waiting on them one after another noticed a crash
            # only in the first, and a station whose inbox consumer had died kept running
            for container in self.containers:
                eventlet.spawn(watch, container)

        starter = eventlet.spawn(start_and_watch)
        reason = stopping.wait()
        log.info("host stopping (%s)", reason)
        starter.kill()
        with eventlet.Timeout(20, False):
            self.stop()
        self.kill()
        if isinstance(reason, Exception):  # exit non-zero, so a supervisor starts it again
            raise SystemExit(f"host stopped: a container crashed ({reason!r})")
