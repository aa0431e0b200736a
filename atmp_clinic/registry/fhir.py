"""The registry export as HL7 FHIR R4 (SPEC §6): Patient, Procedure, Encounter, Observation,
AdverseEvent and Consent, as NDJSON (one resource a line) or as a Bundle of type collection.

The models are `fhir.resources.R4B` (FHIR 4.3.0, the R4 technical correction; these six resources are
the same as in R4 4.0.1): the package's top level is R5. Who is exported is `registry_patients()`, the
rule the CSV export uses; what is exported follows the same line as that export:
- never a field of PatientIdentity (name, contact data, language, time zone): it is not read at all;
- never free text a clinician typed that may name or describe a person: cause of death, visit notes,
  out-of-window reasons, the dose as written, batch and donation numbers (chain of identity), who
  recorded what;
- codes only where a published source names them (cited beside each); otherwise a text-only
  CodeableConcept, which R4 allows for any binding that is not `required`."""

import uuid
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Prefetch, QuerySet, TextChoices
from django.utils import timezone, translation
from fhir.resources.R4B.adverseevent import (
    AdverseEvent as FhirAdverseEvent,
)
from fhir.resources.R4B.adverseevent import (
    AdverseEventSuspectEntity,
    AdverseEventSuspectEntityCausality,
)
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.consent import ConsentProvision
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from atmp_clinic.followup.models import FollowUpPlan, FollowUpVisit, Modality
from atmp_clinic.manufacturing.models import Administration
from atmp_clinic.patients.models import Consent, ConsentKind, Patient, Sex

from .exports import registry_patients
from .grading import EQ5D5L_DIMENSIONS
from .models import AdverseEvent, Finding, OutcomeRecord, Seriousness, SpecialInterest

# Patients per query; each chunk's related rows are prefetched with it, so memory stays constant.
CHUNK_SIZE = 200

PSEUDONYM_SYSTEM = "urn:atmp-clinic:pseudonym"
# Our own extensions, for what R4's AdverseEvent has no element for. urn: because the project
# publishes no StructureDefinitions at an http address yet.
EXTENSION = "urn:atmp-clinic:fhir:extension:"
# uuid5 namespace for Patient ids: the same hospital and pseudonym give the same id in every export.
PATIENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PSEUDONYM_SYSTEM)

# Code systems, each as the FHIR R4 specification names it (hl7.org/fhir/R4/terminologies-systems.html).
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"

# Encounter.class (v3 ActEncounterCode, hl7.org/fhir/R4/v3/ActEncounterCode/vs.html): AMB is care in a
# facility on a non-resident basis; VR is "not in the same physical location", telephone included.
ENCOUNTER_CLASS = {
    Modality.IN_PERSON: ("AMB", "ambulatory"),
    Modality.PHONE: ("VR", "virtual"),
    Modality.QUESTIONNAIRE: ("VR", "virtual"),
}
# AdministrativeGender (required binding) has the same four codes as our Sex.
GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}
# hl7.org/fhir/R4/codesystem-adverse-event-outcome.html; "not recovered" is the R4 "ongoing".
AE_OUTCOMES = {
    AdverseEvent.Outcome.RECOVERED: ("resolved", "Resolved"),
    AdverseEvent.Outcome.RECOVERING: ("recovering", "Recovering"),
    AdverseEvent.Outcome.NOT_RECOVERED: ("ongoing", "Ongoing"),
    AdverseEvent.Outcome.RECOVERED_WITH_SEQUELAE: ("resolvedWithSequelae", "Resolved with Sequelae"),
    AdverseEvent.Outcome.FATAL: ("fatal", "Fatal"),
    AdverseEvent.Outcome.UNKNOWN: ("unknown", "Unknown"),
}
GRADING_SCALE = {
    AdverseEvent.Kind.GENERAL: "CTCAE",
    AdverseEvent.Kind.CRS: "ASTCT consensus grading (CRS)",
    AdverseEvent.Kind.ICANS: "ASTCT consensus grading (ICANS)",
}
EQ5D_LABELS = {
    "mobility": "Mobility",
    "self_care": "Self-care",
    "usual_activities": "Usual activities",
    "pain_discomfort": "Pain/discomfort",
    "anxiety_depression": "Anxiety/depression",
}


# --- ids and references ---------------------------------------------------------------------------


def patient_id(patient: Patient) -> str:
    """Stable and opaque: derived from the pseudonym, which is unique only within a hospital."""
    return str(uuid.uuid5(PATIENT_ID_NAMESPACE, f"{patient.hospital_id}:{patient.pseudonym}"))


def _ref(resource_type: str, resource_id: str) -> Reference:
    return Reference(reference=f"{resource_type}/{resource_id}")


def _patient_ref(patient: Patient) -> Reference:
    return _ref("Patient", patient_id(patient))


def _procedure_id(administration_id: int) -> str:
    return f"administration-{administration_id}"


def _encounter_id(visit_id: int) -> str:
    return f"visit-{visit_id}"


def _text(text: str) -> CodeableConcept:
    # str(): choice labels are lazy translations, which the FHIR models do not take for strings.
    return CodeableConcept(text=str(text))


def _coded(system: str, code: str, display: str, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)], text=text)


# --- builders -------------------------------------------------------------------------------------


def patient_resource(patient: Patient) -> FhirPatient:
    """The pseudonym, sex, year of birth and date of death; nothing from PatientIdentity."""
    return FhirPatient(
        id=patient_id(patient),
        identifier=[Identifier(system=PSEUDONYM_SYSTEM, value=patient.pseudonym)],
        gender=GENDER.get(patient.sex, "unknown"),
        birthDate=str(patient.year_of_birth),  # FHIR date allows a year alone; the day is not ours to give
        deceasedDateTime=patient.date_of_death,  # a date is a valid dateTime; None when not known
    )


def procedure_resource(administration: Administration) -> Procedure:
    """The administration of the ATMP. Dose (free text) and batch (chain of identity) stay home."""
    product = administration.request.product
    return Procedure(
        id=_procedure_id(administration.pk),
        status="completed",
        code=_text(f"Administration of {product.get_atmp_class_display()}"),
        usedCode=[_text(product.name)],
        subject=_ref("Patient", patient_id(administration.patient)),
        performedDateTime=administration.administered_at,
    )


def encounter_resource(visit: FollowUpVisit) -> Encounter:
    """A follow-up visit that took place; a scheduled or missed one is no encounter."""
    code, display = ENCOUNTER_CLASS.get(visit.modality, ENCOUNTER_CLASS[Modality.IN_PERSON])
    return Encounter(
        id=_encounter_id(visit.pk),
        status="finished",
        class_fhir=Coding(system=ACT_CODE, code=code, display=display),
        type=[_text(f"ATMP follow-up visit: {visit.label}")],  # the template's label, e.g. "Month 3"
        subject=_ref("Patient", patient_id(visit.plan.patient)),
        period=Period(start=visit.performed_on),
    )


def _observation(
    outcome: OutcomeRecord, item: str, code: CodeableConcept, *, category: str | None = None, **value
) -> Observation:
    return Observation(
        id=f"outcome-{outcome.pk}-{item}",
        status="final",
        category=[_coded(OBSERVATION_CATEGORY, category, category.capitalize())] if category else None,
        code=code,
        subject=_ref("Patient", patient_id(outcome.patient)),
        encounter=_ref("Encounter", _encounter_id(outcome.visit_id)),
        effectiveDateTime=outcome.visit.performed_on,
        **value,
    )


def _finding(value: str) -> CodeableConcept:
    return _text(Finding(value).label)


def observation_resources(outcome: OutcomeRecord) -> list[Observation]:
    """One Observation per item the visit recorded. Only ECOG has a code we can cite; the others are
    text-only (their values are ours: CR/PR/…, detected/not detected). Cause of death is free text and
    stays home."""
    observations = []
    if outcome.vital_status:
        death = None
        if outcome.date_of_death:
            death = [ObservationComponent(code=_text("Date of death"), valueDateTime=outcome.date_of_death)]
        status = _text(outcome.get_vital_status_display())
        vital = _text("Vital status")
        observations.append(
            _observation(outcome, "vital-status", vital, valueCodeableConcept=status, component=death)
        )
    if outcome.disease_response:
        # LOINC 88040-1 "Response to cancer treatment" (mCODE STU1) is for cancer only; ATMPs are not.
        response = _text(outcome.get_disease_response_display())
        code = _text("Disease response")
        observations.append(_observation(outcome, "disease-response", code, valueCodeableConcept=response))
    if outcome.ecog is not None:
        # LOINC 89247-1 with an integer value, as mCODE's ECOGPerformanceStatus profile has it
        # (hl7.org/fhir/us/mcode/StructureDefinition-mcode-ecog-performance-status.html).
        ecog = _coded(LOINC, "89247-1", "ECOG Performance Status score", "ECOG performance status")
        observations.append(_observation(outcome, "ecog", ecog, category="survey", valueInteger=outcome.ecog))
    observations.extend(_laboratory(outcome))
    levels = {name: getattr(outcome, f"eq5d_{name}") for name in EQ5D5L_DIMENSIONS}
    if any(level is not None for level in levels.values()) or outcome.eq5d_vas is not None:
        # One Observation, five dimensions and the VAS as components: they are one questionnaire.
        components = [
            ObservationComponent(code=_text(EQ5D_LABELS[name]), valueInteger=level)
            for name, level in levels.items()
            if level is not None
        ]
        if outcome.eq5d_vas is not None:
            vas = ObservationComponent(code=_text("EQ VAS (0-100)"), valueInteger=outcome.eq5d_vas)
            components.append(vas)
        eq5d = _text("EQ-5D-5L")
        observations.append(_observation(outcome, "eq-5d-5l", eq5d, category="survey", component=components))
    return observations


def _laboratory(outcome: OutcomeRecord) -> Iterator[Observation]:
    """The laboratory section, text-coded: no LOINC code for these could be cited with confidence."""
    values: list[tuple[str, str, dict]] = []
    if outcome.replication_competent_vector:
        finding = _finding(outcome.replication_competent_vector)
        values.append(
            (
                "replication-competent-vector",
                "Replication-competent vector",
                {"valueCodeableConcept": finding},
            )
        )
    if outcome.vector_copy_number is not None:
        quantity = Quantity(value=outcome.vector_copy_number, unit="copies per cell")  # no UCUM unit for it
        values.append(("vector-copy-number", "Vector copy number", {"valueQuantity": quantity}))
    if outcome.car_t_persistence:
        finding = _finding(outcome.car_t_persistence)
        values.append(("car-t-persistence", "CAR-T persistence", {"valueCodeableConcept": finding}))
    if outcome.b_cell_aplasia is not None:
        values.append(("b-cell-aplasia", "B-cell aplasia", {"valueBoolean": outcome.b_cell_aplasia}))
    if outcome.igg_g_per_l is not None:
        quantity = Quantity(value=outcome.igg_g_per_l, unit="g/L", system=UCUM, code="g/L")
        values.append(("igg", "IgG in serum", {"valueQuantity": quantity}))
    for item, name, value in values:
        yield _observation(outcome, item, _text(name), category="laboratory", **value)


def _severity(grade: int) -> CodeableConcept:
    """R4's severity is mild/moderate/severe; CTCAE names grade 1 mild, 2 moderate, 3 severe, and 4 and 5
    (life-threatening, death) are more than severe. The grade itself goes in an extension."""
    code = "mild" if grade == 1 else "moderate" if grade == 2 else "severe"
    return _coded(AE_SEVERITY, code, code.capitalize())


def adverse_event_resource(event: AdverseEvent) -> FhirAdverseEvent:
    """The event, its grade and seriousness; the suspect is the administration (the plan's day 0)."""
    extensions = [
        Extension(url=f"{EXTENSION}adverse-event-grade", valueInteger=event.grade),
        Extension(url=f"{EXTENSION}adverse-event-grading-scale", valueString=GRADING_SCALE[event.kind]),
    ]
    if event.resolved_on:
        extensions.append(Extension(url=f"{EXTENSION}adverse-event-resolved", valueDate=event.resolved_on))
    extensions += [
        Extension(url=f"{EXTENSION}adverse-event-seriousness-criterion", valueCodeableConcept=_text(label))
        for label in _labels(Seriousness, event.seriousness)
    ]
    extensions += [
        Extension(url=f"{EXTENSION}adverse-event-special-interest", valueCodeableConcept=_text(label))
        for label in _labels(SpecialInterest, event.special_interest)
    ]
    outcome_code, outcome_display = AE_OUTCOMES[event.outcome]
    serious = ("serious", "Serious") if event.serious else ("non-serious", "Non-serious")
    encounter = None
    if event.visit is not None and event.visit.status == FollowUpVisit.Status.COMPLETED:
        encounter = _ref("Encounter", _encounter_id(event.visit_id))  # only visits exported as encounters
    return FhirAdverseEvent(
        id=f"adverse-event-{event.pk}",
        extension=extensions,
        actuality="actual",
        event=_text(event.term),
        subject=_ref("Patient", patient_id(event.patient)),
        encounter=encounter,
        date=event.onset_on,
        seriousness=_coded(AE_SERIOUSNESS, *serious),
        severity=_severity(event.grade),
        outcome=_coded(AE_OUTCOME, outcome_code, outcome_display),
        suspectEntity=[
            AdverseEventSuspectEntity(
                instance=_ref("Procedure", _procedure_id(event.plan.administration_id)),
                # Our five relatedness steps are not WHO-UMC's six categories: given as text.
                causality=[
                    AdverseEventSuspectEntityCausality(assessment=_text(event.get_relatedness_display()))
                ],
            )
        ],
    )


def _labels(choices: type[TextChoices], values: list[str]) -> list[str]:
    """Display labels for a JSON list of choices (seriousness criteria, special interest)."""
    return [str(choices(value).label) if value in choices.values else value for value in values]


def consent_resource(consent: Consent) -> FhirConsent:
    """The registry consent that allows this export."""
    return FhirConsent(
        id=f"consent-{consent.pk}",
        status="active" if consent.is_active else "inactive",
        # hl7.org/fhir/R4/codesystem-consent-scope.html: research = "Consent to participate in research
        # protocol and information sharing required".
        scope=_coded(CONSENT_SCOPE, "research", "Research"),
        # LOINC 59284-0 "Patient Consent", in the R4 consent-category value set.
        category=[_coded(LOINC, "59284-0", "Patient Consent")],
        patient=_ref("Patient", patient_id(consent.patient)),
        dateTime=consent.given_on,
        # R4's ppc-1 asks for a policy or a policyRule; ours is the registry protocol, which has no code.
        policyRule=_text("ATMP Clinic long-term follow-up registry: participation consent"),
        provision=ConsentProvision(type="permit", period=Period(start=consent.given_on)),
    )


# --- whole patients -------------------------------------------------------------------------------


def _with_related(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """What one patient's resources need, fetched per chunk in a fixed number of queries."""
    completed = FollowUpVisit.objects.filter(status=FollowUpVisit.Status.COMPLETED).select_related("outcome")
    return (
        patients.order_by("pk")
        .only("pk", "hospital_id", "pseudonym", "year_of_birth", "sex", "date_of_death")
        .prefetch_related(
            Prefetch(
                "consents",
                queryset=Consent.objects.filter(kind=ConsentKind.REGISTRY, withdrawn_on__isnull=True),
                to_attr="registry_consents",
            ),
            Prefetch(
                "administrations",
                queryset=Administration.objects.select_related("request__product").order_by(
                    "administered_at"
                ),
            ),
            Prefetch(
                "follow_up_plans",
                queryset=FollowUpPlan.objects.order_by("starts_on", "pk").prefetch_related(
                    Prefetch("visits", queryset=completed.order_by("performed_on", "pk"))
                ),
            ),
            Prefetch(
                "adverse_events",
                queryset=AdverseEvent.objects.select_related("plan", "visit").order_by("onset_on", "pk"),
            ),
        )
    )


def _resources_for(patient: Patient) -> Iterator[Resource]:
    """One patient's resources, the Patient first, so that a reader meets every reference's target
    before (or with) the resources that point at it."""
    yield patient_resource(patient)
    for consent in patient.registry_consents:
        consent.patient = patient
        yield consent_resource(consent)
    for administration in patient.administrations.all():
        administration.patient = patient
        yield procedure_resource(administration)
    for plan in patient.follow_up_plans.all():
        plan.patient = patient
        for visit in plan.visits.all():
            visit.plan = plan
            yield encounter_resource(visit)
            outcome = getattr(visit, "outcome", None)
            if outcome is not None:
                outcome.patient, outcome.visit = patient, visit
                yield from observation_resources(outcome)
    for event in patient.adverse_events.all():
        event.patient = patient
        yield adverse_event_resource(event)


def _consented(patients: Iterable[Patient] | QuerySet[Patient] | None) -> QuerySet[Patient]:
    """Whatever was asked for, narrowed to the patients the registry may receive."""
    allowed = registry_patients()
    if patients is None:
        return allowed
    if isinstance(patients, QuerySet):
        return allowed.filter(pk__in=patients.values("pk"))
    return allowed.filter(pk__in=[patient.pk for patient in patients])


def ndjson_lines(patients: Iterable[Patient] | QuerySet[Patient] | None = None) -> Iterator[str]:
    """Every consented, treated patient's resources, one JSON document a line, grouped per patient;
    read CHUNK_SIZE patients at a time, so memory does not grow with the registry. Display texts are
    English, whatever the language of the caller's pages or Accept-Language."""
    with translation.override(settings.LANGUAGE_CODE):
        for patient in _with_related(_consented(patients)).iterator(chunk_size=CHUNK_SIZE):
            for resource in _resources_for(patient):
                yield resource.model_dump_json(exclude_none=True) + "\n"


def bundle(patients: Iterable[Patient] | QuerySet[Patient] | None = None) -> Bundle:
    """A Bundle of type collection, for small exports: it is built whole in memory."""
    # No fullUrl: R4 wants it absolute, and these resources have no server address; the references
    # between them are relative ("Patient/<id>"), which a collection allows.
    with translation.override(settings.LANGUAGE_CODE):  # display texts in English, as ndjson_lines
        entries = [
            BundleEntry(resource=resource)
            for patient in _with_related(_consented(patients))
            for resource in _resources_for(patient)
        ]
    return Bundle(
        id=str(uuid.uuid4()),
        type="collection",
        timestamp=timezone.now(),
        entry=entries or None,
    )
