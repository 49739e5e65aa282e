"""Applicants' phone numbers: masked like ID numbers wherever the ID number is masked."""


def mask(number):
    """Keep the first 3 and the last 4 digits and hide the digits between, as an ID
    number keeps its first 3 and last 4 characters: 138****1234, 075*-****5678 (a
    hyphen stays where it was). A number of 7 digits or fewer is hidden whole."""
    number = number or ""
    digits = [i for i, c in enumerate(number) if c.isdigit()]
    if len(digits) <= 7:
        return "".join("*" if c.isdigit() else c for c in number)
    hidden = set(digits[3:-4])
    return "".join("*" if i in hidden else c for i, c in enumerate(number))
