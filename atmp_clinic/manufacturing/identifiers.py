"""The identifiers of the chain of identity, checked the way the standards define them.

Single European Code (Directive 2015/565): the donation identification sequence is the country
(ISO 3166 alpha-2), the tissue establishment's code (6) and a unique donation number (13); the
product identification sequence is a coding system (E = EUTC, A = ISBT 128, B = Eurocode), a
product code (7), a split number (3) and the expiry date (YYYYMMDD). When the donation number is
an ISBT 128 donation identification number, its eye-readable check character (ISO/IEC 7064
MOD 37-2, as ICCBBA specifies) is checked too."""

import re
from datetime import date, datetime

from django.core.exceptions import ValidationError
from stdnum.iso7064 import mod_37_2

from atmp_clinic.accounts.models import COUNTRIES

COUNTRY_CODES = {code for code, _ in COUNTRIES}
DONATION_SEQUENCE = re.compile(
    r"^(?P<country>[A-Z]{2})(?P<establishment>[A-Z0-9]{6})(?P<donation>[A-Z0-9]{13})$"
)
# ISBT 128 DIN: facility identification number (a letter other than O, then 4 digits), year (2), serial (6).
ISBT_DIN = re.compile(r"^[A-NP-Z][0-9]{4}[0-9]{2}[0-9]{6}$")
PRODUCT_SEQUENCE = re.compile(
    r"^(?P<system>[EAB])(?P<product>[A-Z0-9]{7})(?P<split>[A-Z0-9]{3})(?P<expiry>[0-9]{8})$"
)


def normalise(value: str) -> str:
    """Codes are read aloud, printed with spaces and scanned: compare them without spaces or case."""
    return re.sub(r"[\s-]", "", value or "").upper()


def validate_donation_identifier(value: str, check_character: str = "") -> str:
    code = normalise(value)
    match = DONATION_SEQUENCE.match(code)
    if not match:
        raise ValidationError(
            "A donation identification sequence has 21 characters: the country (2 letters), the tissue "
            "establishment's code (6) and the donation number (13), e.g. NL000123G123498654321."
        )
    if match["country"] not in COUNTRY_CODES:
        raise ValidationError(f"{match['country']} is not the code of an EU or EEA country.")
    if ISBT_DIN.match(match["donation"]):
        expected = mod_37_2.calc_check_digit(match["donation"])
        if not check_character:
            raise ValidationError(
                "This donation number is an ISBT 128 number: enter its check character (the boxed character "
                "printed after it) as well."
            )
        if normalise(check_character) != expected:
            raise ValidationError(
                "The check character does not match the donation number: one of them was mistyped. "
                "Compare both with the label."
            )
    return code


def validate_product_code(value: str) -> tuple[str, date]:
    """The product identification sequence, and the expiry date it carries."""
    code = normalise(value)
    match = PRODUCT_SEQUENCE.match(code)
    if not match:
        raise ValidationError(
            "A product identification sequence has 19 characters: the coding system (E, A or B), the "
            "product code (7), the split number (3) and the expiry date (YYYYMMDD), e.g. AE0001V000120270315."
        )
    try:
        expiry = datetime.strptime(match["expiry"], "%Y%m%d").date()
    except ValueError as exc:
        raise ValidationError(f"{match['expiry']} is not a date (YYYYMMDD).") from exc
    return code, expiry
