from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from atmp_clinic.accounts.models import Membership, Organisation, Role
from tests.factories import AuthorityFactory, HospitalFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_country_has_one_national_authority():
    AuthorityFactory(country="FR")
    with pytest.raises(ValidationError, match=r"one_authority_per_country|already exists"):
        AuthorityFactory(country="FR")


def test_database_refuses_second_authority_even_without_validation():
    AuthorityFactory(country="FR")
    second = AuthorityFactory.build(country="FR")
    with pytest.raises(IntegrityError):
        second.save()


def test_hospital_needs_its_manufacturing_authorisation():
    with pytest.raises(ValidationError) as error:
        HospitalFactory(manufacturing_authorisation_number="")
    assert "manufacturing authorisation" in str(
        error.value.message_dict["manufacturing_authorisation_number"]
    )


def test_authority_needs_every_clock_rule():
    with pytest.raises(ValidationError) as error:
        AuthorityFactory(validation_days=None)
    assert "validation_days" in error.value.message_dict


def test_fatal_report_deadline_cannot_exceed_the_ordinary_one():
    with pytest.raises(ValidationError) as error:
        AuthorityFactory(
            expedited_report_deadline=timedelta(days=7), expedited_report_deadline_fatal=timedelta(days=15)
        )
    assert "expedited_report_deadline_fatal" in error.value.message_dict


def test_pharmacist_belongs_to_a_hospital_not_an_authority():
    membership = Membership(user=UserFactory(), organisation=AuthorityFactory(), role=Role.PHARMACIST)
    with pytest.raises(ValidationError, match="belongs to a hospital"):
        membership.full_clean()


def test_reviewer_belongs_to_an_authority():
    membership = Membership(user=UserFactory(), organisation=HospitalFactory(), role=Role.REVIEWER)
    with pytest.raises(ValidationError, match="belongs to a national competent authority"):
        membership.full_clean()


def test_analyst_belongs_to_no_organisation():
    membership = Membership(user=UserFactory(), organisation=HospitalFactory(), role=Role.ANALYST)
    with pytest.raises(ValidationError, match="belongs to no organisation"):
        membership.full_clean()


def test_only_reviewers_have_review_capabilities():
    membership = Membership(
        user=UserFactory(), organisation=HospitalFactory(), role=Role.CLINICIAN, is_decider=True
    )
    with pytest.raises(ValidationError, match="Only authority reviewers"):
        membership.full_clean()


def test_database_refuses_capabilities_outside_reviewers():
    membership = Membership(
        user=UserFactory(), organisation=HospitalFactory(), role=Role.CLINICIAN, is_decider=True
    )
    with pytest.raises(IntegrityError):
        membership.save()


def test_database_refuses_two_active_memberships_for_one_user():
    user = UserFactory()
    hospital = HospitalFactory()
    Membership.objects.create(user=user, organisation=hospital, role=Role.PHARMACIST)
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=user, organisation=hospital, role=Role.CLINICIAN)


def test_organisation_kind_is_constrained_in_the_database():
    with pytest.raises(IntegrityError):
        Organisation.objects.create(
            name="X", kind="pharmacy", country="NL", manufacturing_authorisation_number="1"
        )


def test_unknown_role_is_reported_on_the_role_field():
    membership = Membership(user=UserFactory(), organisation=HospitalFactory(), role="surgeon")
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert "role" in error.value.message_dict
