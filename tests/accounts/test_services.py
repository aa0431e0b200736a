import pytest

from atmp_clinic.accounts import services
from atmp_clinic.accounts.models import Membership, OrganisationGroup, Role
from tests.factories import AuthorityFactory, HospitalFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def organisation_groups(user):
    return {(g.organisation_group.organisation_id, g.organisation_group.role) for g in user.groups.all()}


def test_member_joins_their_organisations_staff_and_role_groups():
    hospital = HospitalFactory()
    user = member(role=Role.PHARMACIST, organisation=hospital)
    assert organisation_groups(user) == {
        (hospital.pk, OrganisationGroup.STAFF),
        (hospital.pk, Role.PHARMACIST),
    }


def test_patient_joins_only_the_patient_group():
    hospital = HospitalFactory()
    user = member(role=Role.PATIENT, organisation=hospital)
    assert organisation_groups(user) == {(hospital.pk, Role.PATIENT)}


def test_new_membership_ends_the_previous_one_and_keeps_it():
    first, second = HospitalFactory(), HospitalFactory()
    user = member(role=Role.PHARMACIST, organisation=first)
    services.membership_create(user=user, role=Role.CLINICIAN, organisation=second)
    memberships = Membership.objects.filter(user=user).order_by("started_at")
    assert [(m.organisation_id, m.ended_at is None) for m in memberships] == [
        (first.pk, False),
        (second.pk, True),
    ]


def test_new_membership_moves_the_user_between_groups():
    first, second = HospitalFactory(), HospitalFactory()
    user = member(role=Role.PHARMACIST, organisation=first)
    services.membership_create(user=user, role=Role.CLINICIAN, organisation=second)
    assert organisation_groups(user) == {(second.pk, OrganisationGroup.STAFF), (second.pk, Role.CLINICIAN)}


def test_ending_a_membership_removes_its_groups():
    user = member(role=Role.PHARMACIST, organisation=HospitalFactory())
    services.membership_end(membership=user.memberships.get())
    assert organisation_groups(user) == set()


def test_membership_of_wrong_kind_is_refused_and_nothing_is_saved():
    user = UserFactory()
    with pytest.raises(Exception, match="belongs to a hospital"):
        services.membership_create(user=user, role=Role.PHARMACIST, organisation=AuthorityFactory())
    assert not Membership.objects.filter(user=user).exists()


def test_moving_a_hospital_to_another_country_moves_its_authority():
    belgian, french = AuthorityFactory(country="BE"), AuthorityFactory(country="FR")
    hospital = HospitalFactory(country="BE")
    belgian_reviewer = member(role=Role.REVIEWER, organisation=belgian)
    french_reviewer = member(role=Role.REVIEWER, organisation=french)
    hospital.country = "FR"
    services.organisation_save(organisation=hospital)
    assert (belgian_reviewer.has_perm("accounts.view_organisation", hospital),
            french_reviewer.has_perm("accounts.view_organisation", hospital)) == (False, True)  # fmt: skip
