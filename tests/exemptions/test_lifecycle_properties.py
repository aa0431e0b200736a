"""Property tests of SPEC §4: any sequence of steps, taken by anyone, keeps every request on the lifecycle.

A hypothesis state machine drives the real services of `atmp_clinic.exemptions.services` (and the
daily lapse sweep) with every demo user, and after each step checks what SPEC §4 promises, against a
transition table written here from the SPEC's text (not imported from the app):

- an accepted step moves its request only along an arrow of SPEC §4 (or, for a step that is no
  transition, leaves the state as it was), and changes no other request;
- it was taken by the organisation and role SPEC §1/§7 give that step, and a decision never by one
  of the request's assessors (four eyes); a signed step only with the signer's password;
- it wrote exactly the audit events it should, each naming the acting person (none for the sweep),
  a change of state recorded with its before and after; and a change of state notified someone;
- a refused step (PermissionDenied, ValidationError, TransitionRefused and its conflict and
  incompleteness kinds) wrote no audit event, no signature, no notification and changed nothing;
- any other exception fails the test: for a person it would be a server error;
- after every step, data that only the lifecycle writes agree with it (decisions, assessments), and
  at the end of each example the audit chain is intact.

Each example starts from the seeded demo: it runs in its own transaction, rolled back in teardown.
Profiles: `ci` (default, 50 examples of up to 30 steps, about 50 s after the demo is seeded) and
`long` (400 of up to 50; select with HYPOTHESIS_LIFECYCLE_PROFILE=long). Derandomized: the same
code and data give the same search, so a failure reproduces."""

import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from hypothesis import HealthCheck, event, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from pypdf import PdfWriter

from atmp_clinic.accounts.models import Membership, User
from atmp_clinic.accounts.services import membership_create
from atmp_clinic.audit.models import AuditEvent, Signature
from atmp_clinic.audit.selectors import chain_breaks
from atmp_clinic.exemptions import services, tasks
from atmp_clinic.exemptions.models import (
    Assessment,
    Attachment,
    Decision,
    ExemptionRequest,
    InformationRequest,
    Notification,
)
from atmp_clinic.exemptions.services import FOUR_EYES, TransitionRefused
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.exemptions.conftest import PASSWORD, complete_fields

pytestmark = pytest.mark.django_db

# --- SPEC §4, as written there ------------------------------------------------------------------

DRAFT, SUBMITTED, RETURNED = "draft", "submitted", "returned"
UNDER_ASSESSMENT, INFORMATION_REQUESTED, LAPSED = "under_assessment", "information_requested", "lapsed"
READY_FOR_DECISION = "ready_for_decision"
APPROVED, APPROVED_WITH_CONDITIONS, REJECTED = "approved", "approved_with_conditions", "rejected"
WITHDRAWN, SUSPENDED, REVOKED = "withdrawn", "suspended", "revoked"
SPEC_STATES = (
    DRAFT, SUBMITTED, RETURNED, UNDER_ASSESSMENT, INFORMATION_REQUESTED, LAPSED, READY_FOR_DECISION,
    APPROVED, APPROVED_WITH_CONDITIONS, REJECTED, WITHDRAWN, SUSPENDED, REVOKED,
)  # fmt: skip
APPROVALS = (APPROVED, APPROVED_WITH_CONDITIONS)  # the SPEC's "approved*"
DECIDED = (APPROVED, APPROVED_WITH_CONDITIONS, REJECTED)
# "any state before a decision": the states from which a decision can still come (lapsed is final).
BEFORE_DECISION = (DRAFT, SUBMITTED, RETURNED, UNDER_ASSESSMENT, INFORMATION_REQUESTED, READY_FOR_DECISION)

# step → {state before: states it may lead to}. A step from a state not listed must be refused.
SPEC_MOVES: dict[str, dict[str, set[str]]] = {
    # draft ─submit (pharmacist + physician co-signature)─> submitted; returned ─resubmit─> submitted
    "submit": {DRAFT: {SUBMITTED}, RETURNED: {SUBMITTED}},
    # submitted ─validate─> under_assessment | returned
    "validate": {SUBMITTED: {UNDER_ASSESSMENT}},
    "return": {SUBMITTED: {RETURNED}},
    # under_assessment ─request information (clock stops)─> information_requested
    "ask_information": {UNDER_ASSESSMENT: {INFORMATION_REQUESTED}},
    # information_requested ─hospital responds (clock resumes)─> under_assessment
    "answer_information": {INFORMATION_REQUESTED: {UNDER_ASSESSMENT}},
    # information_requested ─no answer by the authority's deadline─> lapsed
    "lapse": {INFORMATION_REQUESTED: {LAPSED}},
    # under_assessment ─both assessments recorded─> ready_for_decision (the first one moves nothing)
    "assess": {UNDER_ASSESSMENT: {UNDER_ASSESSMENT, READY_FOR_DECISION}},
    # ready_for_decision ─decide (signature)─> approved | approved_with_conditions | rejected
    "decide": {READY_FOR_DECISION: set(DECIDED)},
    # any state before a decision ─withdraw (hospital)─> withdrawn
    "withdraw": {state: {WITHDRAWN} for state in BEFORE_DECISION},
    # approved* ─suspend / revoke (authority, reason)─> suspended | revoked. Read: a suspended permit
    # is still an approval (on hold), so the authority may revoke it too; it is never suspended twice.
    "suspend": {state: {SUSPENDED} for state in APPROVALS},
    "revoke": {state: {REVOKED} for state in (*APPROVALS, SUSPENDED)},
}
# Steps that are no transition, and the states in which the hospital may take them: it edits and
# has the request signed while it holds the request (draft, or returned to it), and adds documents
# then or when answering the authority's questions. They never change the state.
STILL_STEPS: dict[str, tuple[str, ...]] = {
    "update": (DRAFT, RETURNED),
    "co_sign": (DRAFT, RETURNED),
    "attach": (DRAFT, RETURNED, INFORMATION_REQUESTED),
}

# Who may take each step (SPEC §1 roles, §7 demo capabilities): the request's hospital's pharmacist
# files and answers, its responsible physician co-signs, and the reviewers of its own national
# authority validate (validator), assess (assessor), decide (decider); asking for information and
# suspending or revoking is "the authority": any of its reviewers, as far as the SPEC says.
HOSPITAL_PHARMACIST_STEPS = {"create", "update", "attach", "submit", "withdraw", "answer_information"}
AUTHORITY_STEPS = {
    "validate": "is_validator",
    "return": "is_validator",
    "assess": "is_assessor",
    "decide": "is_decider",
    "ask_information": None,
    "suspend": None,
    "revoke": None,
}
SIGNED_STEPS = {"co_sign", "submit", "decide"}  # "given only after re-entering the password" (§2)


def spec_allows_actor(step: str, actor: User, request: ExemptionRequest) -> bool:
    membership = Membership.objects.filter(user=actor, ended_at__isnull=True).first()
    if membership is None:
        return False
    if step in HOSPITAL_PHARMACIST_STEPS:
        return membership.role == "pharmacist" and membership.organisation_id == request.hospital_id
    if step == "co_sign":
        return (
            actor.pk == request.responsible_physician_id
            and membership.role == "clinician"
            and membership.organisation_id == request.hospital_id
        )
    capability = AUTHORITY_STEPS[step]
    return (
        membership.role == "reviewer"
        and membership.organisation_id == request.authority_id
        and (capability is None or getattr(membership, capability))
    )


# --- who acts ---------------------------------------------------------------------------------

# Every demo user of SPEC §7 (and the second German hospital's staff), and one reviewer who both
# assesses and decides, so that the four-eyes rule has someone to stop.
FOUR_EYES_PROBE = "assessor_decider"
USERNAMES = (
    "pharmacist", "clinician", "patient", "reviewer", "assessor", "assessor2", "decider",
    "pharmacist_2", "clinician_2",
    "pharmacist_b", "clinician_b", "patient_b", "reviewer_b", "assessor_b", "assessor2_b", "decider_b",
    "pharmacist_2_b", "clinician_2_b",
    "analyst", "admin", FOUR_EYES_PROBE,
)  # fmt: skip
PHARMACISTS = ("pharmacist", "pharmacist_2", "pharmacist_b", "pharmacist_2_b")  # one per hospital
# Stand-ins resolved against the request acted on ("its decider": a decider of its authority), so
# that long paths are reached often enough while outsiders and wrong roles try every step too.
ALIASES = (
    "its pharmacist", "its physician", "its validator", "its assessor", "its other assessor", "its decider",
)  # fmt: skip
# Whom the search tries half the time for each step (a guess, not a rule: no property uses it).
LIKELY = {
    "update": ("its pharmacist",),
    "attach": ("its pharmacist",),
    "co_sign": ("its physician",),
    "submit": ("its pharmacist",),
    "validate": ("its validator",),
    "return": ("its validator",),
    "ask_information": ("its assessor", "its validator"),
    "answer_information": ("its pharmacist",),
    "assess": ("its assessor", "its other assessor", FOUR_EYES_PROBE),
    "decide": ("its decider",),
    "withdraw": ("its pharmacist",),
    "suspend": ("its decider",),
    "revoke": ("its decider",),
}


def half_likely(likely: tuple, others: tuple) -> st.SearchStrategy:
    """About half the time one of `likely`, else one of `others`. (sampled_from draws near uniformly
    from its list, where one_of's branches and booleans are far from even.)"""
    return st.sampled_from(likely * max(1, len(others) // len(likely)) + others)


def who_for(step: str) -> st.SearchStrategy[str]:
    """Half the time someone likely to be allowed; else someone of the request's hospital or
    authority in any role (the likeliest mistake), or anyone at all."""
    return half_likely(LIKELY[step], ALIASES * 3 + USERNAMES)


# Which request of the pool a step acts on: ("fitting", n) the n-th of those in a state SPEC §4 lets
# the step start from (so that long paths are reached), ("unfitting", n) of those it must be refused
# in, or n: the one in that place of the pool.
AIM = st.sampled_from(
    [("fitting", n) for n in range(4)] * 5 + [("unfitting", n) for n in range(4)] * 4 + list(range(20))
)
CAPABILITY_OF_ALIAS = {
    "its validator": ("is_validator", 0),
    "its assessor": ("is_assessor", 0),
    "its other assessor": ("is_assessor", 1),
    "its decider": ("is_decider", 0),
}


def hospital_of(username: str):
    return Membership.objects.get(user__username=username, ended_at__isnull=True).organisation


def clinician_of(hospital) -> User:
    return User.objects.filter(
        memberships__organisation=hospital, memberships__role="clinician", memberships__ended_at__isnull=True
    ).earliest("username")


def resolve(who: str, request: ExemptionRequest) -> User:
    if who == "its pharmacist":
        return User.objects.filter(
            memberships__organisation_id=request.hospital_id,
            memberships__role="pharmacist",
            memberships__ended_at__isnull=True,
        ).earliest("username")
    if who == "its physician":
        return request.responsible_physician or clinician_of(request.hospital)
    if who in CAPABILITY_OF_ALIAS:
        capability, index = CAPABILITY_OF_ALIAS[who]
        reviewers = User.objects.filter(
            memberships__organisation_id=request.authority_id,
            memberships__ended_at__isnull=True,
            **{f"memberships__{capability}": True},
        ).order_by("username")
        return list(reviewers)[index]
    return User.objects.get(username=who)


# --- what a step may change ----------------------------------------------------------------------

REFUSALS = (PermissionDenied, ValidationError, TransitionRefused)


COUNTED = (AuditEvent, Signature, Notification, ExemptionRequest, Assessment, InformationRequest, Decision,
           Attachment)  # fmt: skip


def subquery(expression: str, model, where: str = "") -> str:
    # Table names of our own models and constant expressions: nothing here comes from outside.
    return f"(SELECT {expression} FROM {model._meta.db_table} t {where})"  # noqa: S608


# Everything the lifecycle writes about one request: its row, questions, assessments, decision and
# documents, in one query, as each step takes two snapshots of it and of the counts.
RECORD_SQL = ", ".join(
    [subquery("row_to_json(t)", ExemptionRequest, "WHERE t.id = %(pk)s")]
    + [
        subquery("coalesce(json_agg(t ORDER BY t.id), '[]')", model, "WHERE t.request_id = %(pk)s")
        for model in (InformationRequest, Assessment, Decision, Attachment)
    ]
)
WORLD_SQL = "SELECT " + ", ".join(
    [subquery("count(*)", model) for model in COUNTED]
    + [
        subquery("coalesce(max(t.id), 0)", AuditEvent),
        subquery("json_object_agg(t.id, t.state)", ExemptionRequest),
    ]
)


@dataclass(frozen=True)
class World:
    states: dict[int, str]  # every request's state
    counts: dict[str, int]  # rows of every table the lifecycle writes
    last_event_id: int
    target: tuple | None  # the acted-on request's record

    @classmethod
    def now(cls, pk: int | None = None) -> "World":
        with connection.cursor() as cursor:
            cursor.execute(WORLD_SQL + (", " + RECORD_SQL if pk else ""), {"pk": pk})
            row = cursor.fetchone()
        counts = dict(zip((model.__name__ for model in COUNTED), row[: len(COUNTED)], strict=True))
        last_event_id, states = row[len(COUNTED)], row[len(COUNTED) + 1]
        return cls(
            states={int(key): state for key, state in states.items()},
            counts=counts,
            last_event_id=last_event_id,
            target=tuple(row[len(COUNTED) + 2 :]) if pk else None,
        )

    def new_events(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(id__gt=self.last_event_id).order_by("id"))


def pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


SAME_PDF = pdf("the same document every time")
# (field, value) edits; values named here are resolved against the request at run time.
EDITS = (
    ("indication", "Relapsed diffuse large B-cell lymphoma, after three lines"),
    ("dose", "2 × 10⁶ CAR+ T cells/kg"),
    ("dose", ""),  # accepted as an edit, leaves the request incomplete
    ("indication_code", "lymphoma"),  # not an ICD-10 code: refused
    ("planned_administration_date", "yesterday"),  # accepted, but the request cannot be sent so
    ("responsible_physician", "its clinician"),
    ("responsible_physician", "clinician_2_b"),  # a clinician of another hospital
    ("responsible_physician", None),
)
REASON = st.sampled_from(["Stated reason."] * 6 + ["", "   "])  # a blank reason is refused
PASSWORDS = st.sampled_from([PASSWORD] * 7 + ["wrong-pass-2026"])

# Over the whole run: (step, accepted or refused), (step, from, to) of accepted steps, and why steps
# were refused; shows what the search reached, and that it reached every step.
COVERAGE: Counter = Counter()
EDGES: Counter = Counter()
REASONS: Counter = Counter()


# Each step and what its arguments are drawn from. One rule draws the step, so that every step is
# tried about as often (hypothesis switches whole rules off in some runs); the search starts from
# the first ones, so the steps that need others before them come first.
STEP_ARGUMENTS = {
    "co_sign": ("co_sign", dict(who=who_for("co_sign"), password=PASSWORDS)),
    "submit": ("submit", dict(who=who_for("submit"), password=PASSWORDS)),
    "answer_information": ("answer_information", dict(who=who_for("answer_information"), answer=REASON)),
    "decide": (
        "decide",
        dict(
            who=who_for("decide"),
            outcome=st.sampled_from(DECIDED),
            conditions=st.sampled_from(["", "Report every administration.", "Report every administration."]),
            reasons=REASON,
            password=PASSWORDS,
        ),
    ),
    "assess": (
        "assess",
        dict(
            who=who_for("assess"),
            kind=st.sampled_from(["quality", "clinical"]),
            recommendation=st.sampled_from(["approve", "approve_with_conditions", "reject"]),
        ),
    ),
    "validate": ("validate", dict(who=who_for("validate"))),
    "return": ("return_", dict(who=who_for("return"), reasons=REASON)),
    "ask_information": ("ask_information", dict(who=who_for("ask_information"), questions=REASON)),
    "suspend": ("suspend", dict(who=who_for("suspend"), reason=REASON)),
    "revoke": ("revoke", dict(who=who_for("revoke"), reason=REASON)),
    "withdraw": ("withdraw", dict(who=who_for("withdraw"), reason=REASON)),
    "update": ("update", dict(who=who_for("update"), edit=st.sampled_from(EDITS))),
    "attach": ("attach", dict(who=who_for("attach"), document=st.sampled_from(["new", "same", "not a pdf"]))),
    "create": (
        "create",
        dict(
            who=half_likely(PHARMACISTS, USERNAMES),
            patient_of=half_likely(("own",), PHARMACISTS),
            product_of=half_likely(("own",), PHARMACISTS),
            complete=st.booleans(),
        ),
    ),
    # Mostly a day on which nothing is due yet, so that questions are answered before they lapse.
    "daily_sweep": ("daily_sweep", dict(days_later=st.sampled_from([0, 0, 0, 13, 31]))),
}


class Lifecycle(RuleBasedStateMachine):
    """Demo requests of one hospital in every state, a few of others, new drafts, and anyone acting."""

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.pool: list[int] = []
        self.documents = 0
        self.request_type = ContentType.objects.get_for_model(ExemptionRequest)

    def teardown(self):
        try:
            assert chain_breaks() == []
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    # --- the requests acted on ---

    @initialize(
        home=st.sampled_from(PHARMACISTS),
        others=st.lists(st.tuples(st.sampled_from(PHARMACISTS), st.sampled_from(SPEC_STATES)), max_size=3),
        probe_assessed=st.booleans(),
    )
    def demo_requests(self, home, others, probe_assessed):
        """The demo requests of one hospital, one in every state, and a few of other hospitals; and
        maybe the first country's request under assessment assessed, for quality by the reviewer who
        also decides and clinically by another, so that the four-eyes rule is put to the test."""
        picks = [(home, state) for state in SPEC_STATES] + [pick for pick in others if pick[0] != home]
        for pharmacist, state in dict.fromkeys(picks):
            request = ExemptionRequest.objects.get(hospital=hospital_of(pharmacist), state=state)
            self.pool.append(request.pk)
        if probe_assessed:
            request = ExemptionRequest.objects.get(hospital=hospital_of("pharmacist"), state=UNDER_ASSESSMENT)
            services.assessment_record(
                actor=User.objects.get(username=FOUR_EYES_PROBE), request=request, kind="quality",
                report="Quality adequate.", recommendation="approve",
            )  # fmt: skip
            services.assessment_record(
                actor=User.objects.get(username="assessor2"), request=request, kind="clinical",
                report="Benefit likely.", recommendation="approve",
            )  # fmt: skip
            if request.pk not in self.pool:
                self.pool.append(request.pk)

    def target(self, aim: int | tuple, step: str) -> ExemptionRequest:
        if isinstance(aim, tuple):
            kind, n = aim
            states = dict(ExemptionRequest.objects.filter(pk__in=self.pool).values_list("pk", "state"))
            sources = SPEC_MOVES[step].keys() if step in SPEC_MOVES else STILL_STEPS[step]
            chosen = [pk for pk in self.pool if (states[pk] in sources) == (kind == "fitting")] or self.pool
            pk = chosen[n % len(chosen)]
        else:
            pk = self.pool[aim % len(self.pool)]  # the home hospital's demo requests come first
        return ExemptionRequest.objects.select_related("hospital", "authority", "responsible_physician").get(
            pk=pk
        )

    # --- steps ---

    def create(self, who, patient_of, product_of, complete):
        actor = User.objects.get(username=who)
        own = Membership.objects.filter(
            user=actor, ended_at__isnull=True, organisation__kind="hospital"
        ).first()
        own_hospital = own.organisation if own else hospital_of("pharmacist")
        patient_hospital = own_hospital if patient_of == "own" else hospital_of(patient_of)
        product_hospital = own_hospital if product_of == "own" else hospital_of(product_of)
        patient = (
            Patient.objects.filter(
                hospital=patient_hospital, date_of_death__isnull=True, consents__kind="treatment",
                consents__withdrawn_on__isnull=True,
            ).order_by("pk").first()
        )  # fmt: skip
        product = Product.objects.filter(hospital=product_hospital, is_active=True).order_by("pk").first()
        fields = (
            complete_fields() | {"responsible_physician": clinician_of(patient_hospital)}
            if complete
            else {"indication": "To be completed"}
        )
        note(f"create by {actor.username}: patient of {patient_hospital}, product of {product_hospital}")
        before = World.now()
        try:
            created = services.request_create(actor=actor, patient=patient, product=product, **fields)
        except REFUSALS as refusal:
            self.refused("create", refusal, before, World.now())
            return
        after = World.now()
        COVERAGE["create", "accepted"] += 1
        assert (
            Membership.objects.filter(
                user=actor, ended_at__isnull=True, role="pharmacist", organisation=patient.hospital
            ).exists()
            and product.hospital_id == patient.hospital_id
        ), "a draft was created by someone other than a pharmacist of the patient's and product's hospital"
        assert after.states == before.states | {created.pk: DRAFT}, "a new request starts as a draft"
        self.check_events(before, actor=actor, pks={created.pk}, expected=1)
        self.pool.append(created.pk)

    def update(self, aim, who, edit):
        name, value = edit
        request = self.target(aim, "update")
        if value == "yesterday":
            value = timezone.localdate() - timedelta(days=1)
        elif value == "its clinician":
            value = clinician_of(request.hospital)
        elif name == "responsible_physician" and value:
            value = User.objects.get(username=value)
        old = getattr(request, name)
        changes = old != value
        self.act(
            "update", request, who,
            lambda actor: services.request_update(actor=actor, request=request, **{name: value}),
            events=1 if changes else 0,  # an edit that changes nothing is not recorded as one
        )  # fmt: skip

    def attach(self, aim, who, document):
        request = self.target(aim, "attach")
        self.documents += 1
        content = {"new": lambda: pdf(f"document {self.documents}"), "same": lambda: SAME_PDF,
                   "not a pdf": lambda: b"PK\x03\x04 a zip file"}[document]()  # fmt: skip
        upload = SimpleUploadedFile("document.pdf", content, content_type="application/pdf")
        self.act(
            "attach", request, who,
            lambda actor: services.attachment_add(actor=actor, request=request, file=upload, description="CV"),
        )  # fmt: skip

    def co_sign(self, aim, who, password):
        request = self.target(aim, "co_sign")
        self.act(
            "co_sign", request, who,
            lambda actor: services.request_co_sign(actor=actor, request=request, password=password),
            password=password,
        )  # fmt: skip

    def submit(self, aim, who, password):
        request = self.target(aim, "submit")
        self.act(
            "submit", request, who,
            lambda actor: services.request_submit(actor=actor, request=request, password=password),
            password=password,
        )  # fmt: skip

    def validate(self, aim, who):
        request = self.target(aim, "validate")
        self.act(
            "validate", request, who, lambda actor: services.request_validate(actor=actor, request=request)
        )

    def return_(self, aim, who, reasons):
        request = self.target(aim, "return")
        self.act(
            "return", request, who,
            lambda actor: services.request_return(actor=actor, request=request, reasons=reasons),
        )  # fmt: skip

    def ask_information(self, aim, who, questions):
        request = self.target(aim, "ask_information")
        self.act(
            "ask_information", request, who,
            lambda actor: services.request_ask_information(actor=actor, request=request, questions=questions),
        )  # fmt: skip

    def answer_information(self, aim, who, answer):
        request = self.target(aim, "answer_information")
        self.act(
            "answer_information", request, who,
            lambda actor: services.request_answer_information(actor=actor, request=request, answer=answer),
        )  # fmt: skip

    def assess(self, aim, who, kind, recommendation):
        request = self.target(aim, "assess")
        other_kind_recorded = request.assessments.exclude(kind=kind).exists()
        self.act(
            "assess", request, who,
            lambda actor: services.assessment_record(
                actor=actor, request=request, kind=kind, report="Report.", recommendation=recommendation
            ),
            # The assessment, and when it is the second one also the move to ready_for_decision,
            # which the same person's step causes: two events, both naming that person.
            events=2 if other_kind_recorded else 1,
            to=READY_FOR_DECISION if other_kind_recorded else UNDER_ASSESSMENT,
        )  # fmt: skip

    def decide(self, aim, who, outcome, conditions, reasons, password):
        request = self.target(aim, "decide")
        self.act(
            "decide", request, who,
            lambda actor: services.request_decide(
                actor=actor, request=request, password=password, outcome=outcome, reasons=reasons,
                conditions=conditions,
            ),
            password=password, to=outcome,
        )  # fmt: skip

    def withdraw(self, aim, who, reason):
        request = self.target(aim, "withdraw")
        self.act(
            "withdraw", request, who,
            lambda actor: services.request_withdraw(actor=actor, request=request, reason=reason),
        )  # fmt: skip

    def suspend(self, aim, who, reason):
        request = self.target(aim, "suspend")
        self.act(
            "suspend", request, who,
            lambda actor: services.permit_suspend(actor=actor, request=request, reason=reason),
        )  # fmt: skip

    def revoke(self, aim, who, reason):
        request = self.target(aim, "revoke")
        self.act(
            "revoke", request, who,
            lambda actor: services.permit_revoke(actor=actor, request=request, reason=reason),
        )  # fmt: skip

    @rule(step=st.sampled_from(tuple(STEP_ARGUMENTS)), aim=AIM, data=st.data())
    def take_a_step(self, step, aim, data):
        """One step of SPEC §4 (or a hospital's edit) on a request of the pool, by someone."""
        method, arguments = STEP_ARGUMENTS[step]
        drawn = {name: data.draw(strategy, label=name) for name, strategy in arguments.items()}
        if step in ("create", "daily_sweep"):  # no request to aim at
            getattr(self, method)(**drawn)
        else:
            getattr(self, method)(aim, **drawn)

    def daily_sweep(self, days_later):
        """The Celery beat task, run on a day this far ahead: every request whose hospital let the
        authority's deadline for answers pass lapses, and no other."""
        with time_machine.travel(timezone.now() + timedelta(days=days_later), tick=False):
            today = timezone.localdate()
            due = set(
                InformationRequest.objects.filter(
                    answered_at__isnull=True, answer_due_on__lt=today, request__state=INFORMATION_REQUESTED
                ).values_list("request_id", flat=True)
            )
            before = World.now()
            tasks.lapse_unanswered()
            after = World.now()
        COVERAGE["lapse", "accepted" if due else "nothing due"] += 1
        assert after.states == before.states | dict.fromkeys(due, LAPSED), (
            "the sweep lapsed exactly the requests with unanswered questions past their deadline"
        )
        EDGES.update(("lapse", INFORMATION_REQUESTED, LAPSED) for _ in due)
        assert after.counts["Notification"] >= before.counts["Notification"] + len(due), "a lapse told no one"
        # One event per lapsed request, by no person: the deadline acted.
        self.check_events(
            before,
            actor=None,
            pks=due,
            expected=len(due),
            moves=len(due),
            arrow=(INFORMATION_REQUESTED, LAPSED),
        )

    # --- the properties of each step ---

    def act(self, step, request, who, call, *, events=1, password=None, to=None):
        actor = resolve(who, request)
        note(f"{step} {request.reference} ({request.state}) by {actor.username}")
        allowed_actor = spec_allows_actor(step, actor, request)
        assessors = set(request.assessments.values_list("assessor_id", flat=True))
        before = World.now(request.pk)
        try:
            call(actor)
        except REFUSALS as refusal:
            self.refused(step, refusal, before, World.now(request.pk))
            return
        after = World.now(request.pk)
        COVERAGE[step, "accepted"] += 1
        was, now = before.states[request.pk], after.states[request.pk]
        EDGES[step, was, now] += 1
        event(f"accepted: {step} {was} -> {now}")

        assert allowed_actor, f"{actor.username} may not {step} {request.reference} (SPEC §1/§4 roles)"
        if step == "decide":
            assert actor.pk not in assessors, "the decider assessed the request (four eyes, SPEC §4)"
        if step in SIGNED_STEPS:
            assert password == PASSWORD, f"{step} was signed without the signer's password"
            assert after.counts["Signature"] == before.counts["Signature"] + 1, f"{step} left no signature"
        if step in SPEC_MOVES:
            assert now in SPEC_MOVES[step].get(was, set()), f"SPEC §4 has no arrow {was} -{step}-> {now}"
        else:
            assert was in STILL_STEPS[step] and now == was, (
                f"{step} is no transition, yet from {was} to {now}"
            )
        if to is not None:
            assert now == to, f"{step} should have led to {to}, not {now}"
        assert {pk: state for pk, state in after.states.items() if pk != request.pk} == {
            pk: state for pk, state in before.states.items() if pk != request.pk
        }, f"{step} on {request.reference} changed another request"
        if now != was and not (step == "withdraw" and was == DRAFT):
            # "Every transition ... notifies the other side" (a withdrawn draft concerns no one else).
            assert after.counts["Notification"] > before.counts["Notification"], f"{step} notified no one"
        self.check_events(
            before, actor=actor, pks={request.pk}, expected=events, moves=int(now != was), arrow=(was, now)
        )

    def refused(self, step, refusal, before, after):
        COVERAGE[step, "refused"] += 1
        REASONS[step, type(refusal).__name__, str(refusal)[:90]] += 1
        event(f"refused: {step} ({type(refusal).__name__})")
        note(f"refused: {type(refusal).__name__}: {refusal}")
        assert after == before, f"the refused {step} changed something or left an audit event"

    def check_events(self, before, *, actor, pks, expected, moves=0, arrow=None):
        events = before.new_events()
        assert len(events) == expected, (
            f"{expected} audit events expected, {len(events)} written: {[e.action for e in events]}"
        )
        for written in events:
            assert written.actor_id == (actor.pk if actor else None), f"{written.action} names another actor"
            assert (written.content_type_id, written.object_id) in {(self.request_type.pk, pk) for pk in pks}
        # A change of state is recorded with the states before and after it.
        recorded_moves = [
            e for e in events if "state" in e.before and e.before["state"] != e.after.get("state")
        ]
        assert len(recorded_moves) == moves, "each change of state is one event with its before and after"
        for recorded in recorded_moves:
            assert (recorded.before["state"], recorded.after["state"]) == arrow, (
                "the event records another move"
            )

    # --- what must hold after any step ---

    @invariant()
    def requests_decisions_and_assessments_agree_with_the_lifecycle(self):
        """Over every request: a SPEC state; a decision exactly in the decided states, with the state
        its outcome, and only approvals suspended or revoked; both assessments before a decision,
        and never one by the decider (four eyes). One query, as it runs after every step."""
        kinds = (
            Assessment.objects.filter(request=OuterRef("pk"))
            .values("request")
            .annotate(n=Count("kind", distinct=True))
            .values("n")
        )
        decider_assessed = Assessment.objects.filter(
            request=OuterRef("pk"), assessor=OuterRef("decision__decided_by")
        )
        found = ExemptionRequest.objects.annotate(
            kinds=Coalesce(Subquery(kinds), 0), decider_assessed=Exists(decider_assessed)
        ).aggregate(
            outside_the_spec=Count("pk", filter=~Q(state__in=SPEC_STATES)),
            decided_too_early=Count(
                "pk", filter=Q(decision__isnull=False, state__in=(*BEFORE_DECISION, LAPSED, WITHDRAWN))
            ),
            no_decision=Count(
                "pk", filter=Q(decision__isnull=True, state__in=(*DECIDED, SUSPENDED, REVOKED))
            ),
            state_is_not_the_outcome=Count(
                "pk", filter=Q(state__in=DECIDED, decision__isnull=False) & ~Q(decision__outcome=F("state"))
            ),
            rejection_suspended_or_revoked=Count(
                "pk", filter=Q(state__in=(SUSPENDED, REVOKED), decision__outcome=REJECTED)
            ),
            decided_without_both_assessments=Count(
                "pk", filter=(Q(state=READY_FOR_DECISION) | Q(decision__isnull=False)) & Q(kinds__lt=2)
            ),
            decided_by_an_assessor=Count("pk", filter=Q(decider_assessed=True)),
        )
        assert found == dict.fromkeys(found, 0), {name: n for name, n in found.items() if n}


# --- settings ---------------------------------------------------------------------------------

COMMON = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile("lifecycle-ci", max_examples=50, stateful_step_count=30, **COMMON)
hypothesis_settings.register_profile("lifecycle-long", max_examples=400, stateful_step_count=50, **COMMON)
PROFILE = hypothesis_settings.get_profile(f"lifecycle-{os.environ.get('HYPOTHESIS_LIFECYCLE_PROFILE', 'ci')}")


@pytest.fixture
def four_eyes_probe(demo):
    """A reviewer of the first country's authority who both assesses and decides."""
    probe = User.objects.create_user(username=FOUR_EYES_PROBE, password=PASSWORD)
    authority = Membership.objects.get(user__username="decider", ended_at__isnull=True).organisation
    membership_create(user=probe, role="reviewer", organisation=authority, is_assessor=True, is_decider=True)
    return probe


def test_any_steps_by_anyone_keep_every_request_on_the_spec_lifecycle(settings, tmp_path, four_eyes_probe):
    settings.MEDIA_ROOT = tmp_path  # documents attached during the search
    for counter in (COVERAGE, EDGES, REASONS):
        counter.clear()
    run_state_machine_as_test(Lifecycle, settings=PROFILE)
    # What the search reached (shown with -s), and a guard against a search that only met refusals.
    print("\nsteps tried:", dict(sorted(COVERAGE.items())))
    print("arrows of SPEC §4 taken:", dict(sorted(EDGES.items())))
    print("refusals:", dict(sorted(Counter((step, kind) for step, kind, _ in REASONS.elements()).items())))
    print(
        "four-eyes refusals:", sum(n for (_, _, message), n in REASONS.items() if message == FOUR_EYES[:90])
    )
    never_accepted = {*SPEC_MOVES, *STILL_STEPS, "create"} - {
        step for step, outcome in COVERAGE if outcome == "accepted"
    }
    assert not never_accepted, (
        f"the search never got these steps accepted: {never_accepted}; refusals: {REASONS}"
    )
