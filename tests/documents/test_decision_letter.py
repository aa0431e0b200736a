"""The decision letter (issue 7): on the authority's letterhead, the decision with its conditions and
the decider's signature, recorded as issued so that `verify_document` recognises the file and
refuses a changed copy; downloaded only by those who see the request."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import Decision, ExemptionRequest
from atmp_clinic.patients.models import Patient
from tests.conftest import signature_of
from tests.documents.conftest import assert_a_proper_document, pdf_text, unfooted_pages
from tests.exemptions.conftest import approved, client_for, ready_for_decision, submitted, user

pytestmark = pytest.mark.django_db

DECIDER = ("Юлия", "Nuñez-Żółć")
CONDITIONS = "Treat at most one patient; the manufacturing site reports each batch's release tests."
DUTIES = "Annual report on the patient's follow-up by 31 January."


@pytest.fixture(autouse=True)
def _media(document_media):
    """Issued documents go to a temporary MEDIA_ROOT."""


def approved_with_conditions() -> ExemptionRequest:
    """Decided by someone whose name has Cyrillic and accented letters."""
    decider = user("decider")
    decider.first_name, decider.last_name = DECIDER
    decider.save()
    request = ready_for_decision()
    services.request_decide(
        actor=decider, request=request, **signature_of(decider), outcome="approved_with_conditions",
        reasons="The criteria of the hospital exemption are met.", conditions=CONDITIONS,
        follow_up_years=10, follow_up_template="integrating_vector", reporting_duties=DUTIES,
    )  # fmt: skip
    return ExemptionRequest.objects.get(pk=request.pk)


def download(username: str, request: ExemptionRequest):
    return client_for(username).get(reverse("request-decision-letter", args=[request.pk]))


@pytest.fixture
def letter() -> tuple[ExemptionRequest, bytes]:
    request = approved_with_conditions()
    response = download("pharmacist", request)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return request, response.content


def test_the_letter_is_a_proper_document(letter):
    request, content = letter
    assert_a_proper_document(content, title=f"Decision letter — {request.reference}")


def test_every_page_has_the_reference_and_page_x_of_y(letter):
    request, content = letter
    assert unfooted_pages(content, request.reference) == []


def test_it_is_on_the_authoritys_letterhead(letter):
    request, content = letter
    text = pdf_text(content)
    address = [line for line in request.authority.address.splitlines() if line]
    assert [line for line in [request.authority.name, *address] if line not in text] == []


def test_it_states_the_decision_and_its_conditions(letter):
    request, content = letter
    text = " ".join(pdf_text(content).split())  # a wrapped line is one sentence again
    expected = [
        "Approved with conditions", CONDITIONS, DUTIES, "10 years",
        "Integrating vector or genome editing (incl. CAR-T)",
        date_format(request.decision.valid_until, "j F Y"), "Serious adverse reactions reported within", "48 hours",
        request.patient.pseudonym,
    ]  # fmt: skip
    assert [value for value in expected if value not in text] == []


def test_it_shows_the_deciders_signature_manifestation(letter):
    request, content = letter
    text = pdf_text(content)
    signature = signatures_for(obj=request.decision).get()
    assert " ".join(DECIDER) in text
    assert "Decided (authority)" in text
    assert f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC" in text


def test_it_tells_a_recipient_to_have_a_copy_checked_by_the_authority_quoting_its_reference(letter):
    request, content = letter
    text = " ".join(pdf_text(content).split())
    assert f"send it to {request.authority.name} quoting our reference {request.reference}" in text
    assert "manage.py" not in text  # a developer's command, which no hospital can run


@pytest.mark.parametrize(
    "typed", ["standard options were exhausted.", "no standard option left", "relapsed?"]
)
def test_the_indication_as_typed_never_runs_into_the_sentence(typed):
    request = ready_for_decision()
    ExemptionRequest.objects.filter(pk=request.pk).update(indication=typed)
    services.request_decide(
        actor=user("decider"), request=ExemptionRequest.objects.get(pk=request.pk), **signature_of(user("decider")),
        outcome="rejected", reasons="Not custom-made.",
    )  # fmt: skip
    text = " ".join(pdf_text(download("pharmacist", request).content).split())
    submitted = date_format(timezone.localdate(request.submitted_at), "j F Y")
    assert f"{request.patient.pseudonym}, submitted {submitted}." in text
    assert f"{request.indication_code} {typed}" in text and f"{typed}, submitted" not in text


def test_it_never_holds_the_patients_identity(letter):
    request, _ = letter
    identity = Patient.objects.get(pk=request.patient_id).identity
    identity.given_name, identity.family_name = "Hendrika", "Zwaanswijk"
    identity.email, identity.phone = "h.zwaanswijk@example.org", "+31612345678"
    identity.save()
    text = pdf_text(download("pharmacist", request).content)
    leaked = [
        v for v in (identity.given_name, identity.family_name, identity.email, identity.phone) if v in text
    ]
    assert leaked == []


def test_a_rejection_has_no_conditions():
    request = ready_for_decision()
    services.request_decide(
        actor=user("decider"),
        request=request,
        **signature_of(user("decider")),
        outcome="rejected",
        reasons="Not custom-made.",
    )
    text = pdf_text(download("pharmacist", request).content)
    assert "Rejected" in text and "Not custom-made." in text and "Conditions of the permit" not in text


def test_the_issued_letter_verifies(letter, tmp_path, capsys):
    request, content = letter
    path = tmp_path / "letter.pdf"
    path.write_bytes(content)
    call_command("verify_document", str(path))
    out = capsys.readouterr().out
    issued = IssuedDocument.objects.get(kind=DocumentKind.DECISION_LETTER)
    assert out.startswith("VERIFIED") and issued.sha256 in out and request.reference in out


def test_a_changed_copy_of_the_letter_does_not_verify(letter, tmp_path):
    _, content = letter
    middle = len(content) // 2
    tampered = content[:middle] + bytes([content[middle] ^ 1]) + content[middle + 1 :]
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("verify_document", str(path))


def test_the_letter_is_recorded_for_the_decision(letter):
    request, _ = letter
    issued = IssuedDocument.objects.get(kind=DocumentKind.DECISION_LETTER)
    assert (issued.record, issued.issued_by) == (Decision.objects.get(request=request), user("pharmacist"))


def test_there_is_no_letter_before_a_decision():
    assert download("pharmacist", submitted()).status_code == 404


def test_the_request_page_links_to_the_letter_once_decided():
    undecided, decided = submitted(), approved()
    page = client_for("pharmacist").get(reverse("request-detail", args=[decided.pk])).content.decode()
    assert reverse("request-decision-letter", args=[decided.pk]) in page
    page = client_for("pharmacist").get(reverse("request-detail", args=[undecided.pk])).content.decode()
    assert reverse("request-decision-letter", args=[undecided.pk]) not in page


WHO_DOWNLOADS = [
    ("pharmacist", 200), ("clinician", 200), ("reviewer", 200), ("assessor", 200), ("decider", 200),
    ("pharmacist_2", 404), ("clinician_2", 404), ("pharmacist_b", 404), ("reviewer_b", 404),
    ("decider_b", 404), ("analyst", 404), ("patient", 404), ("admin", 404),
]  # fmt: skip


@pytest.mark.parametrize(("username", "status"), WHO_DOWNLOADS)
def test_only_those_who_see_the_request_download_its_letter(username, status):
    assert download(username, approved()).status_code == status


def test_someone_not_logged_in_is_sent_to_log_in():
    response = Client().get(reverse("request-decision-letter", args=[approved().pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
