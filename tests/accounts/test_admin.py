"""Administrators manage organisations and roles in the Django admin; its saves go through the
services, so the grants and groups follow."""

import pytest
from django.test import Client
from django.utils import timezone

from atmp_clinic.accounts.models import Membership, Organisation, User
from atmp_clinic.accounts.selectors import visible_to
from tests.conftest import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(demo):
    return log_in(Client(), User.objects.get(username="admin"))


def user_change_data(user: User, **membership) -> dict:
    now = timezone.now()
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": now.date().isoformat(),
        "date_joined_1": "08:00:00",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-user": user.pk,
        "memberships-0-started_at_0": now.date().isoformat(),
        "memberships-0-started_at_1": "08:00:00",
    }
    data.update({f"memberships-0-{name}": value for name, value in membership.items()})
    return data


def test_admin_adds_a_hospital_that_its_national_authority_then_sees(admin_client):
    response = admin_client.post(
        "/admin/accounts/organisation/add/",
        {"name": "Noordzee Kliniek", "kind": "hospital", "country": "NL", "is_active": "on",
         "manufacturing_authorisation_number": "NL-MIA-200 001"},
    )  # fmt: skip
    hospital = Organisation.objects.get(name="Noordzee Kliniek")
    reviewer = User.objects.get(username="reviewer")
    assert response.status_code == 302
    assert visible_to(user=reviewer, queryset=Organisation.objects.filter(pk=hospital.pk)).exists()


def test_admin_gives_a_user_a_role_and_the_user_then_sees_their_organisation(admin_client):
    newcomer = User.objects.create_user(username="newcomer", password="irrelevant-2026")
    hospital = Organisation.objects.get(name="Klinikum Elbtal")
    data = user_change_data(newcomer, organisation=hospital.pk, role="clinician")
    response = admin_client.post(f"/admin/accounts/user/{newcomer.pk}/change/", data)
    assert response.status_code == 302
    assert list(visible_to(user=newcomer, queryset=Organisation.objects.filter(kind="hospital"))) == [
        hospital
    ]


def test_admin_is_told_a_pharmacist_cannot_work_for_an_authority(admin_client):
    newcomer = User.objects.create_user(username="newcomer", password="irrelevant-2026")
    authority = Organisation.objects.get(kind="authority", country="DE")
    data = user_change_data(newcomer, organisation=authority.pk, role="pharmacist")
    response = admin_client.post(f"/admin/accounts/user/{newcomer.pk}/change/", data)
    assert "A hospital pharmacist belongs to a hospital." in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_admin_cannot_delete_organisations_or_users(admin_client):
    hospital = Organisation.objects.filter(kind="hospital").first()
    user = User.objects.get(username="clinician")
    assert (
        admin_client.get(f"/admin/accounts/organisation/{hospital.pk}/delete/").status_code,
        admin_client.get(f"/admin/accounts/user/{user.pk}/delete/").status_code,
    ) == (403, 403)
