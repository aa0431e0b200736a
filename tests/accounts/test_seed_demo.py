import pytest
from django.core.management import call_command

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import Membership, Organisation, User
from tests.conftest import run_manage

pytestmark = pytest.mark.django_db

SPEC_USERS = {
    "pharmacist", "clinician", "patient", "reviewer", "assessor", "assessor2", "decider",
    "pharmacist_2", "clinician_2", "pharmacist_b", "clinician_b", "patient_b", "reviewer_b",
    "assessor_b", "assessor2_b", "decider_b", "analyst", "admin",
}  # fmt: skip


def snapshot():
    return (
        list(Organisation.objects.values().order_by("pk")),
        list(User.objects.values("pk", "username", "password", "email").order_by("pk")),
        list(Membership.objects.values().order_by("pk")),
    )


def test_creates_the_users_of_the_spec_with_the_demo_password(demo):
    users = User.objects.filter(username__in=SPEC_USERS)
    assert users.count() == len(SPEC_USERS)
    assert all(user.check_password(DEMO_PASSWORD) for user in users)


def test_every_hospital_has_a_pharmacist_and_a_clinician(demo):
    for hospital in Organisation.objects.filter(kind="hospital"):
        roles = set(hospital.memberships.filter(ended_at__isnull=True).values_list("role", flat=True))
        assert {"pharmacist", "clinician"} <= roles, hospital.name


def test_two_countries_each_with_one_authority_and_two_hospitals(demo):
    counts = {(o.country, o.kind) for o in Organisation.objects.all()}
    per = Organisation.objects.values_list("country", "kind")
    assert counts == {("NL", "authority"), ("NL", "hospital"), ("DE", "authority"), ("DE", "hospital")}
    assert sorted(per).count(("NL", "hospital")) == 2 and sorted(per).count(("DE", "hospital")) == 2


def test_users_are_placed_as_the_spec_says(demo):
    where = {m.user.username: m for m in Membership.objects.select_related("user", "organisation")}
    assert (
        where["pharmacist"].organisation == where["clinician"].organisation == where["patient"].organisation
    )
    assert where["pharmacist_2"].organisation != where["pharmacist"].organisation
    assert where["pharmacist_2"].organisation.country == where["reviewer"].organisation.country
    assert where["pharmacist_b"].organisation.country == where["decider_b"].organisation.country != "NL"
    assert (where["reviewer"].is_validator, where["assessor2"].is_assessor, where["decider"].is_decider) == (
        True,
        True,
        True,
    )
    assert where["analyst"].organisation is None and User.objects.get(username="admin").is_superuser


def test_a_second_run_changes_nothing(demo):
    before = snapshot()
    call_command("seed_demo")
    assert snapshot() == before


def test_refused_in_production():
    result = run_manage(
        "seed_demo",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "clinic.example",
            "DATABASE_URL": "sqlite:///:memory:",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        },
    )
    assert result.returncode != 0 and "refused in production" in result.stderr


def test_every_hospital_has_a_request_in_every_state(demo):
    from atmp_clinic.exemptions.models import ExemptionRequest, State

    for hospital in Organisation.objects.filter(kind="hospital"):
        states = set(ExemptionRequest.objects.filter(hospital=hospital).values_list("state", flat=True))
        assert states == set(State.values), hospital.name


def test_the_demos_audit_chain_is_intact(demo):
    from atmp_clinic.audit.selectors import chain_breaks

    assert chain_breaks() == []


def test_every_hospital_has_a_given_batch_and_one_held_out_of_specification(demo):
    from atmp_clinic.manufacturing.models import Batch

    for hospital in Organisation.objects.filter(kind="hospital"):
        batches = Batch.objects.filter(request__hospital=hospital)
        held = batches.get(status="in_testing")
        assert batches.filter(status="administered").count() == 1, hospital.name
        assert held.results.filter(passed=False).exists(), hospital.name
