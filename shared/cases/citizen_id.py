"""Resident identity card numbers (GB 11643-1999): check digit, birth date, masking."""
import datetime as dt

from shared.clock import DISTRICT_TZ
from shared.exceptions import InvalidInput

EARLIEST_BIRTH = dt.date(1900, 1, 1)  # no one born earlier files a case

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_char(first17):
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def validate(number, today=None):
    """The normalised number (upper-case X), or InvalidInput saying what is wrong. The
    birth date must be a real date from 1900 to `today` (the station's date; without
    one, today's date in the district)."""
    if not isinstance(number, str):
        raise InvalidInput("applicant.id_number: must be a string of 18 characters")
    number = number.strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidInput("applicant.id_number: a citizen ID number has 17 digits and a check "
                           "character (a digit or X)")
    try:
        born = birth_date(number)
    except ValueError:
        raise InvalidInput("applicant.id_number: the birth date in the number is not a real date") from None
    if born < EARLIEST_BIRTH:
        raise InvalidInput(f"applicant.id_number: the birth date in the number ({born}) is before 1900")
    today = today or dt.datetime.now(DISTRICT_TZ).date()
    if born > today:
        raise InvalidInput(f"applicant.id_number: the birth date in the number ({born}) is in the future")
    if check_char(number[:17]) != number[17]:
        raise InvalidInput("applicant.id_number: the check digit is wrong (GB 11643); "
                           "please check the number against the card")
    return number


def birth_date(number):
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def age_on(number, day):
    born = birth_date(number)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask(number):
    """Show the region's first 3 and the last 4 characters: 445***********123X."""
    if not number or len(number) < 8:
        return "*" * len(number or "")
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def make(region, born, sequence):
    """Build a valid number (sample data and tests): region 6 digits, born a date,
    sequence 3 digits."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
