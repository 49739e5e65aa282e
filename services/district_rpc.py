"""RPC to this district's own services. Service names carry the district code, so that
two districts (say, the sample one and a test one) can share a broker."""
from nameko.rpc import RpcProxy

from services.config import STATION_KEY
from shared.messages import district_service_name
from shared.stations import ancestor_at


class DistrictRpcProxy(RpcProxy):
    """RpcProxy to `<kind>_<district code>`, the district taken from the station code."""

    def __init__(self, kind, **options):
        self.kind = kind
        super().__init__(kind, **options)

    def setup(self):
        district = ancestor_at(self.container.config[STATION_KEY], "district")
        self.target_service = district_service_name(self.kind, district)
        super().setup()


def district_service(service_cls, kind, district_code):
    """A copy of a district service class named for one district."""
    name = district_service_name(kind, district_code)
    return type(service_cls.__name__, (service_cls,), {"name": name})
