"""Who sees which organisation: its own staff, and a hospital and its national authority each other.
Everyone else gets 404 and finds nothing in lists."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from atmp_clinic.accounts.models import Membership, Organisation, Role, User
from atmp_clinic.accounts.selectors import granted_ids, visible_to
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.patients.models import Patient
from tests.conftest import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-2026"


def expected_visible(user: User, organisation: Organisation) -> bool:
    membership = (
        Membership.objects.filter(user=user, ended_at__isnull=True).select_related("organisation").first()
    )
    mine = membership and membership.organisation
    if not mine or membership.role == Role.PATIENT:
        return False
    return mine == organisation or (mine.country == organisation.country and organisation.kind != mine.kind)


def client_for(user: User) -> Client:
    return log_in(Client(), user)


def test_every_demo_user_sees_exactly_the_organisations_the_rules_allow(demo):
    for user in User.objects.all():
        seen = set(visible_to(user=user, queryset=Organisation.objects.all()))
        allowed = {o for o in Organisation.objects.all() if expected_visible(user, o)}
        assert seen == allowed, user.username


@pytest.mark.parametrize("model", [Organisation, Patient, ExemptionRequest])
def test_granted_ids_are_the_ids_visible_to_gives_every_demo_user(demo, model):
    for user in User.objects.all():
        granted = set(
            model.objects.filter(pk__in=granted_ids(user=user, model=model)).values_list("pk", flat=True)
        )
        visible = set(visible_to(user=user, queryset=model.objects.all()).values_list("pk", flat=True))
        assert granted == visible, user.username


def test_organisation_page_answers_200_or_404_for_every_demo_user(demo):
    statuses = {}
    for user in User.objects.all():
        client = client_for(user)
        for organisation in Organisation.objects.all():
            status = client.get(f"/organisations/{organisation.pk}/").status_code
            if status != (200 if expected_visible(user, organisation) else 404):
                statuses[(user.username, organisation.name)] = status
    assert statuses == {}


def test_pharmacist_of_another_hospital_in_the_same_country_gets_404(demo):
    hospital = User.objects.get(username="pharmacist").memberships.get().organisation
    response = client_for(User.objects.get(username="pharmacist_2")).get(f"/organisations/{hospital.pk}/")
    assert response.status_code == 404


def test_reviewer_of_another_country_gets_404_on_a_hospital(demo):
    hospital = User.objects.get(username="pharmacist").memberships.get().organisation
    response = client_for(User.objects.get(username="reviewer_b")).get(f"/organisations/{hospital.pk}/")
    assert response.status_code == 404


def test_404_says_nothing_about_the_organisation(demo):
    hospital = User.objects.get(username="pharmacist").memberships.get().organisation
    response = client_for(User.objects.get(username="pharmacist_b")).get(f"/organisations/{hospital.pk}/")
    assert hospital.name not in response.content.decode()


def test_model_level_permission_does_not_widen_what_a_user_sees(demo):
    from django.contrib.auth.models import Permission

    user = User.objects.get(username="pharmacist_b")
    user.user_permissions.add(Permission.objects.get(codename="view_organisation"))
    assert {o.country for o in visible_to(user=user, queryset=Organisation.objects.all())} == {"DE"}


def test_anonymous_and_inactive_users_see_nothing(demo):
    from django.contrib.auth.models import AnonymousUser

    inactive = User.objects.get(username="pharmacist")
    inactive.is_active = False
    assert (
        visible_to(user=AnonymousUser(), queryset=Organisation.objects.all()).count(),
        visible_to(user=inactive, queryset=Organisation.objects.all()).count(),
    ) == (0, 0)


def test_user_without_membership_sees_no_organisation(demo):
    assert not visible_to(user=UserFactory(), queryset=Organisation.objects.all()).exists()


def test_organisation_page_is_login_only(demo):
    hospital = Organisation.objects.filter(kind="hospital").first()
    response = Client().get(f"/organisations/{hospital.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_visibility_needs_direct_permission_models(db):
    with pytest.raises(ImproperlyConfigured, match="direct foreign-key permission models"):
        visible_to(user=UserFactory(), queryset=Membership.objects.all())


def test_organisation_page_queries_do_not_grow_with_its_staff(demo, django_assert_num_queries):
    from tests.factories import member

    authority = Organisation.objects.get(kind="authority", country="NL")
    for _ in range(20):
        member(role=Role.REVIEWER, organisation=authority, is_assessor=True)
    client = client_for(User.objects.get(username="reviewer"))
    with django_assert_num_queries(9):
        assert client.get(f"/organisations/{authority.pk}/").status_code == 200


def test_visible_to_is_one_query(demo, django_assert_num_queries):
    user = User.objects.get(username="decider")
    with django_assert_num_queries(1):
        assert len(visible_to(user=user, queryset=Organisation.objects.all())) == 3


def test_organisation_page_runs_a_fixed_number_of_queries(demo, django_assert_num_queries):
    client = client_for(User.objects.get(username="reviewer"))
    authority = Organisation.objects.get(kind="authority", country="NL")
    # session, user, the second factor's device, organisation, staff, header membership, and the
    # session's save (3 with its savepoint)
    with django_assert_num_queries(9):
        assert client.get(f"/organisations/{authority.pk}/").status_code == 200


def test_anonymous_user_holds_no_object_permission(demo):
    from django.contrib.auth.models import AnonymousUser

    assert not AnonymousUser().has_perm("accounts.view_organisation", Organisation.objects.first())
