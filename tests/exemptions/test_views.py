"""The request pages: who sees what, and each step taken through the browser's forms."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from atmp_clinic.exemptions import selectors, services
from atmp_clinic.exemptions.models import ExemptionRequest, State
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from tests.conftest import log_in, signature_of
from tests.exemptions.conftest import (
    PASSWORD,
    approved,
    client_for,
    new_draft,
    ready_for_decision,
    submitted,
    under_assessment,
    user,
)

pytestmark = pytest.mark.django_db


def step(username: str, request: ExemptionRequest, name: str, **data):
    client = client_for(username)
    if "password" in data:  # a signature: with the code of the second factor the login just gave
        data = {**signature_of(user(username)), **data}
    return client.post(reverse("request-step", args=[request.pk, name]), data)


def state_of(request: ExemptionRequest) -> str:
    return ExemptionRequest.objects.get(pk=request.pk).state


# --- who sees what ---

SUBMITTED_REQUEST_PAGE = [
    ("pharmacist", 200), ("clinician", 200), ("reviewer", 200), ("assessor", 200), ("decider", 200),
    ("pharmacist_2", 404), ("clinician_2", 404), ("pharmacist_b", 404), ("reviewer_b", 404),
    ("decider_b", 404), ("analyst", 404), ("patient", 404), ("admin", 404),
]  # fmt: skip


@pytest.mark.parametrize(("username", "status"), SUBMITTED_REQUEST_PAGE)
def test_submitted_request_page_for_every_role_and_organisation(username, status):
    assert client_for(username).get(reverse("request-detail", args=[submitted().pk])).status_code == status


@pytest.mark.parametrize("username", ["reviewer", "assessor", "decider"])
def test_authority_gets_404_on_a_draft(username):
    assert client_for(username).get(reverse("request-detail", args=[new_draft().pk])).status_code == 404


@pytest.mark.parametrize("username", ["pharmacist_2", "reviewer_b", "analyst", "patient"])
def test_lists_of_others_leak_nothing(username):
    request = submitted()
    page = client_for(username).get(reverse("request-list")).content.decode()
    assert request.reference not in page


def test_authority_list_holds_only_its_own_submitted_requests():
    draft, sent = new_draft(), submitted()
    page = client_for("reviewer").get(reverse("request-list")).content.decode()
    assert (sent.reference in page, draft.reference in page, "HE-DE-" in page) == (True, False, False)


def test_list_filters_by_state():
    sent = submitted()
    page = client_for("reviewer").get(reverse("request-list"), {"state": "submitted"}).content.decode()
    assert sent.reference in page and "Ready for decision</span>" not in page


def test_unknown_state_filter_is_explained():
    page = (
        client_for("reviewer").get(reverse("request-list"), {"state": "bogus"}, follow=True).content.decode()
    )
    assert "There is no such state" in page


# --- drafts ---


def test_pharmacist_files_a_draft_through_the_form():
    data = {
        "patient": Patient.objects.get(user__username="patient").pk,
        "product": Product.objects.get(name="CD19 CAR-T cells").pk,
        "kind": "initial",
        "indication_code": "C91.0",
        "indication": "Acute lymphoblastic leukaemia, second relapse",
    }
    response = client_for("pharmacist").post(reverse("request-create"), data)
    created = ExemptionRequest.objects.get(indication_code="C91.0")
    assert response["Location"] == reverse("request-detail", args=[created.pk])


def test_draft_form_errors_keep_what_was_typed():
    data = {
        "patient": Patient.objects.get(user__username="patient").pk,
        "product": Product.objects.get(name="CD19 CAR-T cells").pk,
        "kind": "initial",
        "indication_code": "leukaemia",
        "indication": "Typed with care",
    }
    page = client_for("pharmacist").post(reverse("request-create"), data).content.decode()
    assert "An ICD-10 code looks like" in page and "Typed with care" in page
    # Named at the top of the long form too, linked to where the field marks it.
    summary = page[
        page.index('class="error-summary"') : page.index("</div>", page.index('class="error-summary"'))
    ]
    assert '<a href="#id_indication_code_error">' in summary and "An ICD-10 code looks like" in summary
    assert 'id="id_indication_code_error"' in page


def test_draft_form_offers_only_the_hospitals_patients_and_products():
    page = client_for("pharmacist").get(reverse("request-create")).content.decode()
    assert "CD19 CAR-T cells" in page and "Chondrozyten" not in page


@pytest.mark.parametrize("username", ["clinician", "reviewer", "analyst", "patient"])
def test_only_pharmacists_file_drafts(username):
    assert client_for(username).get(reverse("request-create")).status_code == 404


def test_draft_page_lists_what_is_missing():
    page = (
        client_for("pharmacist").get(reverse("request-detail", args=[new_draft(dose="").pk])).content.decode()
    )
    assert "Missing before submission" in page and "Give the dose." in page


def test_other_hospital_cannot_edit():
    draft = new_draft()
    response = client_for("pharmacist_2").post(reverse("request-edit", args=[draft.pk]), {"dose": "x"})
    assert response.status_code == 404


# --- the steps, each by its own person ---


def test_the_whole_review_through_the_pages():
    request = new_draft()
    assert step("clinician", request, "co_sign", password=PASSWORD).status_code == 302
    assert step("pharmacist", request, "submit", password=PASSWORD).status_code == 302
    assert step("reviewer", request, "validate").status_code == 302
    assert step("assessor", request, "request_information", questions="Potency data?").status_code == 302
    assert step("pharmacist", request, "answer_information", answer="Attached.").status_code == 302
    report = {"report": "Fine.", "recommendation": "approve"}
    assert step("assessor", request, "record_assessment", kind="quality", **report).status_code == 302
    assert step("assessor2", request, "record_assessment", kind="clinical", **report).status_code == 302
    decision = {"outcome": "approved_with_conditions", "reasons": "Met.", "conditions": "Yearly report.",
                "password": PASSWORD}  # fmt: skip
    assert step("decider", request, "decide", **decision).status_code == 302
    assert state_of(request) == State.APPROVED_WITH_CONDITIONS


def test_decision_shows_the_deciders_signature():
    page = client_for("pharmacist").get(reverse("request-detail", args=[approved().pk])).content.decode()
    assert "Joost van den Berg — Decided (authority)" in page


def test_timeline_words_each_step():
    page = client_for("pharmacist").get(reverse("request-detail", args=[approved().pk])).content.decode()
    assert "Signed by the responsible physician" in page and "Quality assessment recorded" in page


def test_wrong_password_is_said_and_nothing_moves():
    request = new_draft()
    response = step("clinician", request, "co_sign", password="nope")
    assert response.status_code == 400 and "The password is not correct" in response.content.decode()


def test_submitting_before_the_physician_signed_is_explained():
    response = step("pharmacist", new_draft(), "submit", password=PASSWORD)
    assert response.status_code == 400 and "responsible physician has not signed" in response.content.decode()


def test_signing_an_incomplete_request_lists_what_is_missing():
    response = step("clinician", new_draft(dose="", route=""), "co_sign", password=PASSWORD)
    page = response.content.decode()
    assert "Give the dose." in page and "Give the route of administration." in page


def test_a_late_second_decision_gets_the_conflict_message_not_a_404():
    request = approved()
    response = step("decider", request, "decide", outcome="rejected", reasons="x", password=PASSWORD)
    assert (
        response.status_code == 409 and "approved now, so it cannot be decided" in response.content.decode()
    )


def test_four_eyes_refusal_is_explained():
    from atmp_clinic.accounts.models import Organisation, Role
    from tests.factories import member

    both = member(role=Role.REVIEWER, organisation=Organisation.objects.get(kind="authority", country="NL"),
                  is_assessor=True, is_decider=True)  # fmt: skip
    both.set_password(PASSWORD)
    both.save()
    request = services.request_validate(actor=user("reviewer"), request=submitted())
    services.assessment_record(
        actor=both, request=request, kind="quality", report="ok", recommendation="approve"
    )
    services.assessment_record(
        actor=user("assessor2"), request=request, kind="clinical", report="ok", recommendation="approve"
    )
    client = log_in(Client(), both)
    response = client.post(
        reverse("request-step", args=[request.pk, "decide"]),
        {"outcome": "approved", "reasons": "ok", "password": PASSWORD},
    )
    assert response.status_code == 400 and "four-eyes" in response.content.decode()


@pytest.mark.parametrize(("username", "name"), [("pharmacist", "validate"), ("assessor", "decide"),
                                                ("decider_b", "decide"), ("clinician", "submit")])  # fmt: skip
def test_a_step_by_the_wrong_person_is_404(username, name):
    request = ready_for_decision()
    assert (
        step(username, request, name, password=PASSWORD, outcome="approved", reasons="x").status_code == 404
    )
    assert state_of(request) == State.READY_FOR_DECISION


def test_unknown_step_is_404():
    assert step("reviewer", submitted(), "approve_everything").status_code == 404


# --- worklists ---


def test_decider_worklist_shows_what_is_ready_for_decision():
    request = ready_for_decision()
    page = client_for("decider").get(reverse("home")).content.decode()
    assert "Requests ready for decision" in page and request.reference in page


def test_pharmacist_worklist_puts_returned_requests_first():
    returned = services.request_return(actor=user("reviewer"), request=submitted(), reasons="Add the CV.")
    page = client_for("pharmacist").get(reverse("home")).content.decode()
    assert (
        page.index("Requests needing your action")
        < page.index(returned.reference)
        < page.index("With the authority")
    )


def test_clinician_worklist_shows_requests_to_sign():
    draft = new_draft()
    assert draft.reference in client_for("clinician").get(reverse("home")).content.decode()


def section_of(page: str, key: str) -> str:
    start = page.index(f'id="{key}"')
    return page[start : page.index("</section>", start)]


def test_the_validation_queue_opens_on_the_ten_most_urgent_and_pages_through_the_rest():
    waiting = [submitted() for _ in range(11)]
    late = waiting[5]  # submitted long ago: its validation is overdue
    ExemptionRequest.objects.filter(pk=late.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    client = client_for("reviewer")
    first = section_of(client.get(reverse("home")).content.decode(), "to-validate")
    assert first.count("/requests/") == 10 and "1–10 of " in first
    assert first.index("/requests/") == first.index(f"/requests/{late.pk}/")  # overdue first
    second = section_of(client.get(reverse("home"), {"to-validate": 2}).content.decode(), "to-validate")
    assert 1 <= second.count("/requests/") <= 10 and "11–" in second
    assert all((r.reference in first) != (r.reference in second) for r in waiting)  # each on one page


def test_the_request_list_pages_through_its_rows_keeping_the_filter():
    from atmp_clinic.exemptions.views import REQUESTS_PER_PAGE

    drafts = [new_draft() for _ in range(REQUESTS_PER_PAGE + 1)]
    client = client_for("pharmacist")
    first = client.get(reverse("request-list"), {"state": "draft"}).content.decode()
    assert f"1–{REQUESTS_PER_PAGE} of " in first and "?state=draft&amp;page=2" in first
    second = client.get(reverse("request-list"), {"state": "draft", "page": 2}).content.decode()
    assert all((d.reference in first) != (d.reference in second) for d in drafts)  # each on one page


def test_an_assessor_no_longer_sees_a_request_they_assessed_the_other_assessor_still_does():
    request = under_assessment()
    services.assessment_record(
        actor=user("assessor"), request=request, kind="quality", report="Adequate.", recommendation="approve"
    )
    mine = section_of(client_for("assessor").get(reverse("home")).content.decode(), "to-assess")
    theirs = section_of(client_for("assessor2").get(reverse("home")).content.decode(), "to-assess")
    assert request.reference not in mine and request.reference in theirs


def test_the_queue_lists_nothing_of_another_authority():
    request = submitted()
    page = client_for("reviewer_b").get(reverse("home")).content.decode()
    assert request.reference not in page


def test_worklist_queries_do_not_grow_with_requests(django_assert_max_num_queries):
    client = client_for("reviewer")
    for _ in range(5):
        submitted()
    with django_assert_max_num_queries(13):  # 12, and the second factor's device
        client.get(reverse("home"))


def test_new_draft_form_starts_from_the_hospitals_manufacturing_authorisation():
    page = client_for("pharmacist").get(reverse("request-create")).content.decode()
    assert 'value="NL-MIA-104 231"' in page


def test_the_decision_form_chooses_no_outcome_for_the_decider():
    request = ready_for_decision()
    page = client_for("decider").get(reverse("request-detail", args=[request.pk])).content.decode()
    outcome = page[page.index('name="outcome"') : page.index("</select>", page.index('name="outcome"'))]
    # A browser shows the first option when none is selected: it must be the empty one.
    first_option = outcome[outcome.index("<option") :].split(">", 1)[0]
    assert 'value=""' in first_option
    response = step("decider", request, "decide", reasons="The criteria are met.", password=PASSWORD)
    assert response.status_code == 400 and state_of(request) == State.READY_FOR_DECISION


# --- a returned request: the authority's reason first ---

RETURN_REASON = "Add the qualified person's CV"


def returned_request() -> ExemptionRequest:
    return services.request_return(actor=user("reviewer"), request=submitted(), reasons=RETURN_REASON)


def test_returned_request_page_shows_who_returned_it_and_why_above_everything_else():
    request = returned_request()
    page = client_for("pharmacist").get(reverse("request-detail", args=[request.pk])).content.decode()
    notice = page[
        page.index('id="return-notice"') : page.index("</section>", page.index('id="return-notice"'))
    ]
    assert (
        "Add the qualified person&#x27;s CV" in notice,
        user("reviewer").get_full_name() in notice,
        page.index('id="return-notice"') < page.index('id="ready"') < page.index('id="timeline"'),
    ) == (True, True, True)


def test_returned_request_edit_page_shows_the_authoritys_reason_above_the_form():
    request = returned_request()
    page = client_for("pharmacist").get(reverse("request-edit", args=[request.pk])).content.decode()
    reason = page.index("Add the qualified person&#x27;s CV")
    assert page.index("<h1") < reason < page.index('<form method="post" novalidate>')


def test_an_unchanged_returned_request_is_not_called_ready_to_submit():
    request = returned_request()
    page = client_for("pharmacist").get(reverse("request-detail", args=[request.pk])).content.decode()
    assert (
        "it can be submitted" in page,
        "Nothing has been changed since the authority returned" in page,
    ) == (
        False,
        True,
    )


def test_the_return_notice_knows_the_request_was_changed_since():
    request = returned_request()
    services.request_update(
        actor=user("pharmacist"), request=request, qualified_person="Dr. Ingrid Smeets, CV attached"
    )
    notice = selectors.return_notice(request=ExemptionRequest.objects.get(pk=request.pk))
    assert (notice.reason, notice.returned_by, notice.changed_since) == (
        RETURN_REASON,
        user("reviewer"),
        True,
    )


def test_no_return_notice_once_the_request_is_submitted_again():
    request = returned_request()
    request = services.request_submit(
        actor=user("pharmacist"), request=request, **signature_of(user("pharmacist"))
    )
    page = client_for("pharmacist").get(reverse("request-detail", args=[request.pk])).content.decode()
    assert 'id="return-notice"' not in page


# --- a request waiting for the hospital's answer: the answer's deadline in the worklist ---


def test_pharmacist_worklist_shows_when_the_answer_is_due_not_the_stopped_clock():
    request = under_assessment()
    asked = services.request_ask_information(
        actor=user("assessor"), request=request, questions="Potency data?"
    )
    row = section_of(client_for("pharmacist").get(reverse("home")).content.decode(), "hospital-action")
    due = date_format(asked.answer_due_on, "SHORT_DATE_FORMAT")
    assert (f"Answer due by {due}" in row, "Clock stopped (" in row) == (True, False)


def test_request_rows_keep_reference_and_pseudonym_on_one_line():
    request = submitted()
    row = section_of(client_for("pharmacist").get(reverse("home")).content.decode(), "with-authority")
    assert (f'class="identifier" href="/requests/{request.pk}/">{request.reference}</a>' in row) and (
        f'<td class="identifier">{request.patient.pseudonym}</td>' in row
    )
