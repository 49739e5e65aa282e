"""The monthly assessment's policy (月度考核办法): the network file's optional `assessment`
section, defaults when absent.

    assessment:
      weights:              # points of the base score (their shares; they need not add up to 100)
        on_time: 50         # on-time rate of the completed cases
        early: 20           # early-completion rate of the completed cases
        satisfaction: 30    # share of rated cases scored 4 or 5
      deductions:           # points taken off the score per event
        yellow_card: 2      # per yellow card not revoked
        red_card: 5         # per red card not revoked (a red card's case also has its yellow card)
        complaint: 3        # per complaint (a rating of 1 or 2, which opens a follow-up)
      min_completed: 10     # fewer completed cases in the period: listed, not ranked
      stars: 3              # service stars (服务之星): the top N counter staff of the period
      show_staff_names: false   # the public board shows staff as "张*" unless true

Every problem is an InvalidInput naming the bad field (assessment.weights.on_time: ...).
The score itself is defined in shared/supervision/assessment.py.
"""
from dataclasses import dataclass, field

from shared.exceptions import InvalidInput

RATE_WEIGHTS = ("on_time", "early", "satisfaction")
DEDUCTIONS = ("yellow_card", "red_card", "complaint")
DEFAULT_WEIGHTS = (("on_time", 50), ("early", 20), ("satisfaction", 30))
DEFAULT_DEDUCTIONS = (("yellow_card", 2), ("red_card", 5), ("complaint", 3))
KEYS = {"weights", "deductions", "min_completed", "stars", "show_staff_names"}


def _bad(path, message):
    raise InvalidInput(f"assessment.{path}: {message}")


def _number(value, low, high):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class AssessmentPolicy:
    weights: tuple = DEFAULT_WEIGHTS          # (figure, points) pairs
    deductions: tuple = DEFAULT_DEDUCTIONS    # (event, points) pairs
    min_completed: int = 10
    stars: int = 3
    show_staff_names: bool = False
    _weights: dict = field(default=None, compare=False, repr=False)
    _deductions: dict = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_weights", dict(self.weights))
        object.__setattr__(self, "_deductions", dict(self.deductions))

    def weight(self, name):
        return self._weights[name]

    def deduction(self, name):
        return self._deductions[name]

    def as_dict(self):
        return {"weights": dict(self.weights), "deductions": dict(self.deductions),
                "min_completed": self.min_completed, "stars": self.stars,
                "show_staff_names": self.show_staff_names}

    @classmethod
    def from_dict(cls, data):
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InvalidInput("assessment: a mapping of settings (" + ", ".join(sorted(KEYS)) + ")")
        unknown = set(data) - KEYS
        if unknown:
            raise InvalidInput(f"assessment: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
        kwargs = {}
        if "weights" in data:
            weights = cls._points("weights", data["weights"], dict(DEFAULT_WEIGHTS), 1000)
            if not any(weights.values()):
                _bad("weights", "at least one weight above 0")
            kwargs["weights"] = tuple(weights.items())
        if "deductions" in data:
            kwargs["deductions"] = tuple(cls._points("deductions", data["deductions"],
                                                     dict(DEFAULT_DEDUCTIONS), 100).items())
        if "min_completed" in data:
            if not _whole(data["min_completed"], 1, 10000):
                _bad("min_completed", "a whole number of completed cases from 1 to 10000")
            kwargs["min_completed"] = data["min_completed"]
        if "stars" in data:
            if not _whole(data["stars"], 0, 50):
                _bad("stars", "a whole number from 0 to 50")
            kwargs["stars"] = data["stars"]
        if "show_staff_names" in data:
            if not isinstance(data["show_staff_names"], bool):
                _bad("show_staff_names", "true or false")
            kwargs["show_staff_names"] = data["show_staff_names"]
        return cls(**kwargs)

    @staticmethod
    def _points(section, given, defaults, highest):
        """The section's points: the defaults, overridden by the given ones."""
        if not isinstance(given, dict):
            _bad(section, f"a mapping of {', '.join(defaults)} to points")
        unknown = set(given) - set(defaults)
        if unknown:
            _bad(section, f"unknown {', '.join(sorted(map(str, unknown)))} (known: {', '.join(defaults)})")
        points = dict(defaults)
        for name, value in given.items():
            if not _number(value, 0, highest):
                _bad(f"{section}.{name}", f"a number of points from 0 to {highest}")
            points[name] = value
        return points
