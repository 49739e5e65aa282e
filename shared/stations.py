"""The district's station network: stations, tiers and the division-code hierarchy.

A station is identified by its statistical division code. The tier follows from the
code's length (6 digits: district, 9: township, 12: village) and the parent of a
station is its code's prefix, so the hierarchy needs no extra table.
"""
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shared.exceptions import InvalidInput
from shared.hall.policy import HallPolicy
from shared.supervision.assessment_policy import AssessmentPolicy

DISTRICT, TOWNSHIP, VILLAGE = "district", "township", "village"
TIERS = (DISTRICT, TOWNSHIP, VILLAGE)
TIER_BY_CODE_LENGTH = {6: DISTRICT, 9: TOWNSHIP, 12: VILLAGE}
TIER_RANK = {DISTRICT: 0, TOWNSHIP: 1, VILLAGE: 2}
TIER_NAMES = {DISTRICT: "区行政服务中心", TOWNSHIP: "镇（街道）公共服务中心", VILLAGE: "村（社区）便民服务站"}


def tier_of(code):
    if not (isinstance(code, str) and code.isdigit() and len(code) in TIER_BY_CODE_LENGTH):
        raise InvalidInput(f"'{code}' is not a station code (6, 9 or 12 digits)")
    return TIER_BY_CODE_LENGTH[len(code)]


def parent_of(code):
    """The code of the station one tier up, or None for the district."""
    tier = tier_of(code)
    if tier == DISTRICT:
        return None
    return code[:6] if tier == TOWNSHIP else code[:9]


def ancestor_at(code, tier):
    """The station of `tier` that `code` belongs to (itself when it is of that tier)."""
    length = {DISTRICT: 6, TOWNSHIP: 9, VILLAGE: 12}[tier]
    if len(code) < length:
        raise InvalidInput(f"station {code} has no {tier} ancestor")
    return code[:length]


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    tier: str
    address: str = ""
    # a township that checks each case passing through before forwarding it (初审转报):
    # the case waits in its worklist until staff forward it; otherwise it goes on at once
    checks_before_forwarding: bool = False

    @property
    def parent(self):
        return parent_of(self.code)


@dataclass
class Department:
    code: str
    name: str


@dataclass(frozen=True)
class SupervisionPolicy:
    """The district's rules for deadline lights and cards (电子监察), the same at every
    station: a light turns yellow at most `yellow_days` working days before the due
    date; an overdue case gets a red card once it is late by more than `red_share` of
    its promised limit (shared/supervision/lights.py)."""
    yellow_days: int = 1
    red_share: float = 0.5

    @classmethod
    def from_dict(cls, data):
        data = data or {}
        unknown = set(data) - {"yellow_days", "red_share"}
        if unknown:
            raise InvalidInput(f"supervision: unknown setting(s) {', '.join(sorted(unknown))}")
        policy = cls(**data)
        if not isinstance(policy.yellow_days, int) or isinstance(policy.yellow_days, bool) \
                or not 0 <= policy.yellow_days <= 30:
            raise InvalidInput("supervision.yellow_days: a whole number of working days from 0 to 30")
        if not isinstance(policy.red_share, (int, float)) or isinstance(policy.red_share, bool) \
                or not 0 < policy.red_share <= 10:
            raise InvalidInput("supervision.red_share: a share of the promised limit above 0 (0.5 = 50%)")
        return policy


@dataclass
class Network:
    """A district's stations and departments, as read from its YAML description."""

    district_code: str
    district_name: str
    stations: dict = field(default_factory=dict)  # code -> Station, in file order
    departments: dict = field(default_factory=dict)  # code -> Department
    supervision: SupervisionPolicy = field(default_factory=SupervisionPolicy)
    hall: HallPolicy = field(default_factory=HallPolicy)  # the optional `hall` section (shared/hall/policy.py)
    # the optional `assessment` section (shared/supervision/assessment_policy.py)
    assessment: AssessmentPolicy = field(default_factory=AssessmentPolicy)

    @classmethod
    def load(cls, path):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data):
        district = data["district"]
        network = cls(district_code=str(district["code"]), district_name=district["name"],
                      supervision=SupervisionPolicy.from_dict(data.get("supervision")),
                      hall=HallPolicy.from_dict(data.get("hall")),
                      assessment=AssessmentPolicy.from_dict(data.get("assessment")))
        for dept in data.get("departments", []):
            network.departments[dept["code"]] = Department(dept["code"], dept["name"])
        for entry in data["stations"]:
            code = str(entry["code"])
            tier = tier_of(code)
            if entry.get("tier", tier) != tier:
                raise InvalidInput(f"station {code}: tier '{entry['tier']}' does not match its code")
            if not code.startswith(network.district_code):
                raise InvalidInput(f"station {code} is not in district {network.district_code}")
            if code in network.stations:
                raise InvalidInput(f"station {code} is listed twice")
            parent = parent_of(code)
            if parent is not None and parent not in network.stations:
                raise InvalidInput(f"station {code}: its parent {parent} must be listed before it")
            forwarding = entry.get("forwarding", "automatic")
            if forwarding not in ("automatic", "checked") or (forwarding == "checked" and tier != TOWNSHIP):
                raise InvalidInput(f"station {code}: forwarding must be 'automatic' or, at a township, 'checked'")
            network.stations[code] = Station(code, entry["name"], tier, entry.get("address", ""),
                                             checks_before_forwarding=forwarding == "checked")
        if network.district_code not in network.stations:
            raise InvalidInput("the district centre itself is not listed among the stations")
        return network

    @property
    def district(self):
        return self.stations[self.district_code]

    def station(self, code):
        try:
            return self.stations[code]
        except KeyError:
            raise InvalidInput(f"unknown station {code}") from None

    def of_tier(self, tier):
        return [s for s in self.stations.values() if s.tier == tier]

    def children(self, code):
        return [s for s in self.stations.values() if s.parent == code]

    def subset(self, codes):
        """The listed stations plus every ancestor they need, in network order."""
        wanted = set()
        for code in codes:
            self.station(code)
            while code:
                wanted.add(code)
                code = parent_of(code)
        return [s for s in self.stations.values() if s.code in wanted]
