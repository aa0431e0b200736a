from datetime import date

import pytest
from django.core.exceptions import ValidationError

from atmp_clinic.manufacturing.identifiers import validate_donation_identifier, validate_product_code


def test_isbt_128_check_character_of_the_published_example():
    # UK Red Book, Annex 2: donation number G123 498 654 321 has the check character H.
    assert validate_donation_identifier("NL 000123 G123 498 654 321", "h") == "NL000123G123498654321"


def test_a_wrong_check_character_is_refused():
    with pytest.raises(ValidationError, match="check character does not match"):
        validate_donation_identifier("NL000123G123498654321", "J")


def test_an_isbt_donation_number_needs_its_check_character():
    with pytest.raises(ValidationError, match="enter its check character"):
        validate_donation_identifier("NL000123G123498654321")


def test_a_donation_number_of_another_system_needs_no_check_character():
    assert validate_donation_identifier("DEA7X1TXEU20260000345") == "DEA7X1TXEU20260000345"


@pytest.mark.parametrize("value", ["NL000123", "NL000123G123498654321X", "NL00012-G12349865432"])
def test_a_sequence_of_the_wrong_shape_is_refused(value):
    with pytest.raises(ValidationError, match="21 characters"):
        validate_donation_identifier(value)


def test_a_country_outside_the_eu_and_eea_is_refused():
    with pytest.raises(ValidationError, match="US is not the code"):
        validate_donation_identifier("US000123ABCDEFGHIJKLM")


def test_product_sequence_gives_its_expiry_date():
    assert validate_product_code("A E0001V0 001 20270315") == ("AE0001V000120270315", date(2027, 3, 15))


def test_product_sequence_with_an_impossible_expiry_is_refused():
    with pytest.raises(ValidationError, match="20270231 is not a date"):
        validate_product_code("AE0001V000120270231")


def test_product_sequence_of_an_unknown_coding_system_is_refused():
    with pytest.raises(ValidationError, match="19 characters"):
        validate_product_code("XE0001V000120270315")
