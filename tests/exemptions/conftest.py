from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import CRITERIA, ExemptionRequest
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.conftest import log_in, signature_of

PASSWORD = "demo-pass-2026"


def user(username: str) -> User:
    return User.objects.get(username=username)


def client_for(username: str) -> Client:
    """A browser-like client logged in as the demo user. Log in inside a test's time travel: sessions
    expire when idle."""
    client = Client()
    return log_in(client, user(username))


def complete_fields() -> dict:
    return {
        "indication_code": "C83.3",
        "indication": "Diffuse large B-cell lymphoma, relapsed after two lines of therapy",
        "unmet_need": "No authorised CAR-T product is reimbursed for this patient; no trial is open to them.",
        "not_otherwise_available": True,
        **dict.fromkeys(CRITERIA, True),
        "dose": "1 × 10⁶ CAR+ T cells/kg",
        "route": "intravenous",
        "frequency": "Single infusion",
        "batches_expected": 1,
        "planned_administration_date": timezone.localdate() + timedelta(days=30),
        "manufacturing_site": "GMP facility, Amstel UMC, Amsterdam",
        "qualified_person": "Dr. Ingrid Smeets",
        "quality_summary": "Lentiviral transduction in a closed system; release per specification.",
        "pharmacovigilance": "Adverse reactions reported to the authority within 48 hours.",
        "follow_up_plan": "15 years per the integrating-vector template.",
        "responsible_physician": user("clinician"),
    }


def new_draft(**overrides) -> ExemptionRequest:
    return services.request_create(
        actor=user("pharmacist"),
        patient=Patient.objects.get(user__username="patient"),
        product=Product.objects.get(name="CD19 CAR-T cells"),
        **(complete_fields() | overrides),
    )


def submitted(**overrides) -> ExemptionRequest:
    request = new_draft(**overrides)
    services.request_co_sign(actor=user("clinician"), request=request, **signature_of(user("clinician")))
    return services.request_submit(
        actor=user("pharmacist"), request=request, **signature_of(user("pharmacist"))
    )


def under_assessment() -> ExemptionRequest:
    return services.request_validate(actor=user("reviewer"), request=submitted())


def ready_for_decision() -> ExemptionRequest:
    request = under_assessment()
    services.assessment_record(
        actor=user("assessor"),
        request=request,
        kind="quality",
        report="Quality adequate.",
        recommendation="approve",
    )
    services.assessment_record(
        actor=user("assessor2"),
        request=request,
        kind="clinical",
        report="Benefit likely.",
        recommendation="approve",
    )
    return ExemptionRequest.objects.get(pk=request.pk)


def approved() -> ExemptionRequest:
    request = ready_for_decision()
    services.request_decide(
        actor=user("decider"),
        request=request,
        **signature_of(user("decider")),
        outcome="approved",
        reasons="Criteria met.",
    )
    return ExemptionRequest.objects.get(pk=request.pk)


@pytest.fixture(autouse=True)
def _demo(demo):
    """Every test here works on the demo's organisations, users, products and patients."""
