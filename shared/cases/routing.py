"""Where a case is decided and which way it travels.

The item's authority tier decides. A case filed at a station of that tier is decided
there. Filed below it, the case goes up one tier at a time to the filing station's own
ancestor of that tier. Filed above it (e.g. a township item at the district window), it
goes down to the applicant's own station of that tier, found from where they live.
"""
from shared.exceptions import InvalidInput
from shared.stations import TIER_RANK, ancestor_at, parent_of, tier_of


def deciding_station(authority_tier, filing_station, residence):
    filing_tier = tier_of(filing_station)
    if TIER_RANK[filing_tier] >= TIER_RANK[authority_tier]:
        return ancestor_at(filing_station, authority_tier)
    if residence is None or TIER_RANK[tier_of(residence)] < TIER_RANK[authority_tier]:
        raise InvalidInput(
            f"applicant.residence: this item is decided by the applicant's {authority_tier}; "
            f"give the code of the {authority_tier} where the applicant lives")
    return ancestor_at(residence, authority_tier)


def next_hop(current, target):
    """The next station from `current` towards `target`, one tier at a time."""
    if current == target:
        return current
    if target.startswith(current):
        return target[:len(current) + 3]
    return parent_of(current)


def route(filing_station, target):
    """Every station from the filing station to the deciding one, both included."""
    stations = [filing_station]
    while stations[-1] != target:
        stations.append(next_hop(stations[-1], target))
    return stations


def deciding_departments(case):
    """The departments that decide a case: the item's own first, then the other joint ones."""
    item = case["item"]
    return [item["department"], *[d for d in item.get("joint_departments") or [] if d != item["department"]]]
