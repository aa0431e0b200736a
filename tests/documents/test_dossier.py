"""The request dossier (issue 7): everything the hospital submitted, the patient by pseudonym only,
the attachments with their SHA-256, the signatures; downloaded only by those who see the request."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pypdf import PdfWriter

from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import ExemptionRequest
from atmp_clinic.patients.models import Patient
from tests.conftest import signature_of
from tests.documents.conftest import assert_a_proper_document, pdf_text, unfooted_pages
from tests.exemptions.conftest import client_for, new_draft, submitted, user

pytestmark = pytest.mark.django_db

PHYSICIAN = ("Δημήτρης", "Ångström-Müller")
PRODUCT = "Cellules CAR-T anti-CD19 « Łódź » — Юлия"


@pytest.fixture(autouse=True)
def _media(document_media):
    """Attachments and issued documents go to a temporary MEDIA_ROOT."""


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def sent_with_documents() -> ExemptionRequest:
    """A request signed by a physician whose name has Greek and accented letters, for a product so
    named, with two documents attached, submitted."""
    physician = user("clinician")
    physician.first_name, physician.last_name = PHYSICIAN
    physician.save()
    request = new_draft()
    for pages, name in ((1, "qp-cv.pdf"), (2, "Qualitätsbericht-Ω.pdf")):
        services.attachment_add(
            actor=user("pharmacist"), request=request, description=f"Document {name}",
            file=SimpleUploadedFile(name, blank_pdf(pages), content_type="application/pdf"),
        )  # fmt: skip
    services.request_co_sign(actor=physician, request=request, **signature_of(physician))
    request = services.request_submit(
        actor=user("pharmacist"), request=request, **signature_of(user("pharmacist"))
    )
    request.product.name = PRODUCT
    request.product.save()
    return request


def download(username: str, request: ExemptionRequest):
    return client_for(username).get(reverse("request-dossier", args=[request.pk]))


@pytest.fixture
def dossier() -> tuple[ExemptionRequest, bytes]:
    request = sent_with_documents()
    response = download("pharmacist", request)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return request, response.content


def test_the_dossier_is_a_proper_document(dossier):
    request, content = dossier
    assert_a_proper_document(content, title=f"Request dossier — {request.reference}")


def test_every_page_has_the_reference_and_page_x_of_y(dossier):
    request, content = dossier
    assert unfooted_pages(content, request.reference) == []


def test_it_holds_what_the_hospital_submitted(dossier):
    request, content = dossier
    text = pdf_text(content)
    expected = [
        PRODUCT, request.patient.pseudonym, request.indication_code, request.dose, request.qualified_person,
        "Prepared on a non-routine basis", "No authorised CAR-T product is reimbursed",
        "Lentiviral transduction in a closed system", request.hospital.name, request.authority.name,
    ]  # fmt: skip
    assert [value for value in expected if value not in text] == []


def test_it_lists_each_attachment_with_its_sha256(dossier):
    request, content = dossier
    text = pdf_text(content)
    attachments = list(request.attachments.all())
    assert len(attachments) == 2
    assert [
        (a.original_name, a.sha256)
        for a in attachments
        if a.original_name not in text or a.sha256 not in text
    ] == []


def test_it_shows_the_physicians_signature_manifestation(dossier):
    request, content = dossier
    text = pdf_text(content)
    signature = signatures_for(obj=request).get(meaning="co_signed")
    assert " ".join(PHYSICIAN) in text
    assert "Co-signed (responsible physician)" in text
    assert f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC" in text


def test_it_never_holds_the_patients_identity(dossier):
    request, _ = dossier
    identity = Patient.objects.get(pk=request.patient_id).identity
    identity.given_name, identity.family_name = "Hendrika", "Zwaanswijk"
    identity.email, identity.phone = "h.zwaanswijk@example.org", "+31612345678"
    identity.save()
    text = pdf_text(download("pharmacist", request).content)
    leaked = [
        v for v in (identity.given_name, identity.family_name, identity.email, identity.phone) if v in text
    ]
    assert leaked == []


def test_the_dossier_is_recorded_as_issued(dossier):
    request, _ = dossier
    issued = IssuedDocument.objects.get(kind=DocumentKind.REQUEST_DOSSIER, object_id=request.pk)
    assert issued.issued_by == user("pharmacist")


def test_a_draft_has_no_dossier():
    assert download("pharmacist", new_draft()).status_code == 404


def test_a_returned_request_has_no_dossier_while_it_is_reworked():
    request = services.request_return(
        actor=user("reviewer"), request=submitted(), reasons="The CV is missing."
    )
    assert download("pharmacist", request).status_code == 404


def test_the_request_page_links_to_the_dossier_once_submitted():
    draft, sent = new_draft(), submitted()
    link = reverse("request-dossier", args=[sent.pk])
    assert link in client_for("pharmacist").get(reverse("request-detail", args=[sent.pk])).content.decode()
    draft_page = client_for("pharmacist").get(reverse("request-detail", args=[draft.pk])).content.decode()
    assert reverse("request-dossier", args=[draft.pk]) not in draft_page


WHO_DOWNLOADS = [
    ("pharmacist", 200), ("clinician", 200), ("reviewer", 200), ("assessor", 200), ("decider", 200),
    ("pharmacist_2", 404), ("clinician_2", 404), ("pharmacist_b", 404), ("reviewer_b", 404),
    ("decider_b", 404), ("analyst", 404), ("patient", 404), ("admin", 404),
]  # fmt: skip


@pytest.mark.parametrize(("username", "status"), WHO_DOWNLOADS)
def test_only_those_who_see_the_request_download_its_dossier(username, status):
    assert download(username, submitted()).status_code == status


def test_someone_not_logged_in_is_sent_to_log_in():
    response = Client().get(reverse("request-dossier", args=[submitted().pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
