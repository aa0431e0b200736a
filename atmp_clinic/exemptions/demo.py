"""Demo requests: in every hospital, one request in every state of SPEC §4, each for a patient of
its own, walked there through the services by the people whose step it is. Seeds a hospital only
while it has no requests."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import User
from atmp_clinic.patients import services as patient_services
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product

from . import services
from .models import CRITERIA, ExemptionRequest, InformationRequest, State

# (pharmacist, clinician) of each hospital, and the reviewers of its country's authority.
HOSPITAL_STAFF = [("pharmacist", "clinician"), ("pharmacist_2", "clinician_2"),
                  ("pharmacist_b", "clinician_b"), ("pharmacist_2_b", "clinician_2_b")]  # fmt: skip
REVIEWERS = {
    "NL": {"validator": "reviewer", "assessors": ("assessor", "assessor2"), "decider": "decider"},
    "DE": {"validator": "reviewer_b", "assessors": ("assessor_b", "assessor2_b"), "decider": "decider_b"},
}
NAMES = {
    "NL": ["Daan Visser", "Sophie de Boer", "Lucas Mulder", "Tess Bos", "Finn Vos", "Mila Peters", "Levi Hendriks",
           "Saar Dekker", "Noah van Dijk", "Evi Smits", "Sem Kok", "Lotte Jacobs", "Bram de Graaf"],
    "DE": ["Paul Fischer", "Marie Weber", "Felix Wagner", "Lena Hoffmann", "Jonas Koch", "Mia Richter",
           "Elias Klein", "Hannah Wolf", "Luis Schröder", "Emilia Neumann", "Ben Schwarz", "Sophia Zimmermann",
           "Leon Braun"],
}  # fmt: skip
STATES_IN_ORDER = [
    State.DRAFT, State.SUBMITTED, State.RETURNED, State.UNDER_ASSESSMENT, State.INFORMATION_REQUESTED,
    State.LAPSED, State.READY_FOR_DECISION, State.APPROVED, State.APPROVED_WITH_CONDITIONS, State.REJECTED,
    State.WITHDRAWN, State.SUSPENDED, State.REVOKED,
]  # fmt: skip


def _fields(clinician: User, product: Product) -> dict:
    return {
        "indication_code": "C83.3" if product.atmp_class == "gtmp" and product.is_cell_based else "H35.5",
        "indication": f"Indication treated with {product.name}, after standard options were exhausted.",
        "unmet_need": "No authorised product, trial or compassionate-use programme is open to this patient.",
        "not_otherwise_available": True,
        **dict.fromkeys(CRITERIA, True),
        "dose": "As per the product's dosing table, by body weight",
        "route": "intravenous" if product.is_cell_based else "intraocular",
        "frequency": "Single administration",
        "batches_expected": 1,
        "planned_administration_date": timezone.localdate() + timedelta(days=45),
        "manufacturing_site": f"GMP unit, {product.hospital.name}",
        "qualified_person": "Dr. Q. Person",
        "quality_summary": "Manufactured in a closed system; released against the product specification.",
        "pharmacovigilance": "Serious adverse reactions reported to the authority within its deadline.",
        "follow_up_plan": "Long-term follow-up per the authority's template for this class.",
        "responsible_physician": clinician,
    }


def _walk(request: ExemptionRequest, target: State, *, pharmacist, clinician, reviewers) -> None:
    """Take a draft to `target` along the path SPEC §4 allows."""
    who = {
        name: User.objects.get(username=username)
        for name, username in reviewers.items()
        if name != "assessors"
    }
    assessors = [User.objects.get(username=username) for username in reviewers["assessors"]]
    if target == State.DRAFT:
        return
    services.request_co_sign(actor=clinician, request=request, password=DEMO_PASSWORD)
    services.request_submit(actor=pharmacist, request=request, password=DEMO_PASSWORD)
    if target == State.SUBMITTED:
        return
    if target == State.RETURNED:
        services.request_return(
            actor=who["validator"], request=request, reasons="Add the qualified person's CV."
        )
        return
    services.request_validate(actor=who["validator"], request=request)
    if target == State.UNDER_ASSESSMENT:
        return
    if target == State.WITHDRAWN:
        services.request_withdraw(
            actor=pharmacist, request=request, reason="The patient's condition improved."
        )
        return
    if target in (State.INFORMATION_REQUESTED, State.LAPSED):
        asked = services.request_ask_information(
            actor=assessors[0],
            request=request,
            questions="Please send the potency assay's validation report.",
        )
        if target == State.LAPSED:
            InformationRequest.objects.filter(pk=asked.pk).update(
                answer_due_on=timezone.localdate() - timedelta(days=1)
            )
            services.lapse_unanswered()
        return
    services.assessment_record(
        actor=assessors[0],
        request=request,
        kind="quality",
        report="Quality adequate.",
        recommendation="approve",
    )
    services.assessment_record(
        actor=assessors[1],
        request=request,
        kind="clinical",
        report="Benefit outweighs risk.",
        recommendation="approve",
    )
    if target == State.READY_FOR_DECISION:
        return
    outcome = {State.REJECTED: "rejected", State.APPROVED_WITH_CONDITIONS: "approved_with_conditions"}.get(
        target, "approved"
    )
    services.request_decide(
        actor=who["decider"], request=request, password=DEMO_PASSWORD, outcome=outcome,
        reasons="The hospital-exemption criteria are met." if outcome != "rejected" else "The benefit is not shown.",
        conditions="Report every administration within 7 days." if outcome == "approved_with_conditions" else "",
    )  # fmt: skip
    if target == State.SUSPENDED:
        services.permit_suspend(
            actor=who["decider"], request=request, reason="Sterility failure at the site."
        )
    elif target == State.REVOKED:
        services.permit_revoke(
            actor=who["decider"], request=request, reason="Manufacturing authorisation withdrawn."
        )


@transaction.atomic
def seed_requests() -> int:
    created = 0
    for pharmacist_name, clinician_name in HOSPITAL_STAFF:
        pharmacist = User.objects.get(username=pharmacist_name)
        clinician = User.objects.get(username=clinician_name)
        hospital = pharmacist.memberships.get(ended_at__isnull=True).organisation
        if ExemptionRequest.objects.filter(hospital=hospital).exists():
            continue
        product = Product.objects.filter(hospital=hospital).order_by("pk").first()
        # The demo patient who logs in is the one treated, so their portal shows a follow-up plan.
        with_login = Patient.objects.filter(hospital=hospital, user__isnull=False).first()
        for state, name in zip(STATES_IN_ORDER, NAMES[hospital.country], strict=True):
            given, family = name.split(" ", 1)
            if state == State.APPROVED and with_login:
                patient = with_login
            else:
                patient = patient_services.patient_create(
                    actor=clinician, hospital=hospital, year_of_birth=1960 + created % 50, sex="unknown",
                    given_name=given, family_name=family,
                )  # fmt: skip
                patient_services.consent_give(
                    actor=clinician, patient=patient, kind="treatment", given_on=timezone.localdate()
                )
            request = services.request_create(
                actor=pharmacist, patient=patient, product=product, **_fields(clinician, product)
            )
            _walk(
                request,
                state,
                pharmacist=pharmacist,
                clinician=clinician,
                reviewers=REVIEWERS[hospital.country],
            )
            created += 1
    return created
