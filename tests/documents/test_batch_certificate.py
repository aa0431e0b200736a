"""The batch release certificate (issue 7): what it certifies, the exceptional-release mark, and who
may download it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from atmp_clinic.documents.batch_certificate import build
from atmp_clinic.documents.models import DocumentKind, IssuedDocument
from atmp_clinic.manufacturing import services
from atmp_clinic.manufacturing.models import Batch
from tests.conftest import signature_of
from tests.documents.conftest import assert_a_proper_document, pdf_text
from tests.exemptions.conftest import client_for, user
from tests.manufacturing.conftest import collect, make_batch, record_results, released_batch

pytestmark = pytest.mark.django_db

JUSTIFICATION = "No other option; viability 55 % is clinically acceptable for this patient."


@pytest.fixture(autouse=True)
def _demo(demo):
    """The demo's hospitals, authorities, people and CAR-T product."""


def exceptionally_released_batch() -> Batch:
    batch = make_batch()
    record_results(batch, viability=Decimal(55))
    services.exceptional_release_justify(
        actor=user("clinician"), batch=batch, justification=JUSTIFICATION, **signature_of(user("clinician"))
    )
    return services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))


def certificate_text(batch: Batch) -> str:
    """The certificate's text with its lines joined, as a cell may wrap a long name."""
    built = build(batch)
    return " ".join(assert_a_proper_document(built.pdf, title=built.title).split())


def test_the_certificate_names_the_batch_and_its_chain_of_identity():
    expires_on = timezone.localdate() + timedelta(days=30)
    batch = make_batch(product_code=f"AE0001V0001{expires_on:%Y%m%d}", expires_on=expires_on)
    record_results(batch)
    batch = services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))
    text = certificate_text(batch)
    for expected in (
        batch.batch_number,
        batch.collection.donation_identifier,
        batch.product_code,
        batch.request.reference,
        batch.request.patient.pseudonym,
    ):
        assert expected in text, expected


def test_the_certificate_lists_each_test_with_specification_result_and_verdict():
    batch = released_batch()
    text = certificate_text(batch)
    results = list(batch.results.select_related("test"))
    assert results
    for result in results:
        assert result.test.name in text and result.test.specification in text and result.shown in text
    assert text.count("Yes") >= len(results) and "out of specification" not in text


def test_the_certificate_carries_the_qualified_persons_signature():
    text = certificate_text(released_batch())
    assert "Sanne de Vries" in text and "Released (qualified person)" in text


def test_an_ordinary_release_has_no_exceptional_mark():
    assert "EXCEPTIONAL RELEASE" not in certificate_text(released_batch())


def test_an_exceptional_release_is_marked_with_the_justification_and_the_physicians_signature():
    text = certificate_text(exceptionally_released_batch())
    assert "EXCEPTIONAL RELEASE" in text
    assert "NO — out of specification" in text
    assert "clinically acceptable for this patient" in text
    assert "Pieter Jansen" in text and "Exceptional release justified (responsible physician)" in text
    assert "Sanne de Vries" in text


def test_an_administered_exceptional_release_keeps_its_mark():
    batch = exceptionally_released_batch()
    services.administration_record(
        actor=user("clinician"), batch=batch, administered_at=batch.released_at, dose="1 bag",
        patient_code=batch.request.patient.pseudonym, batch_code=batch.batch_number,
    )  # fmt: skip
    batch.refresh_from_db()
    assert batch.status == Batch.Status.ADMINISTERED
    assert "EXCEPTIONAL RELEASE" in certificate_text(batch)


def test_accented_and_non_latin_letters_render():
    batch = make_batch(collect(collection_site="Aferese Łódź — Отделение Ψ, Hôpital Saint-Louis"))
    record_results(batch)
    batch = services.batch_release(actor=user("pharmacist"), batch=batch, **signature_of(user("pharmacist")))
    assert "Aferese Łódź — Отделение Ψ, Hôpital Saint-Louis" in certificate_text(batch)


@pytest.mark.parametrize("username", ["pharmacist", "clinician", "reviewer", "decider"])
def test_the_hospital_and_its_authority_download_the_certificate(username, document_media):
    batch = released_batch()
    response = client_for(username).get(reverse("batch-certificate", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert batch.batch_number in pdf_text(response.content)
    issued = IssuedDocument.objects.get(kind=DocumentKind.BATCH_CERTIFICATE, object_id=batch.pk)
    assert issued.issued_by == user(username)


@pytest.mark.parametrize(
    "username",
    ["pharmacist_2", "clinician_2", "pharmacist_b", "reviewer_b", "decider_b", "analyst", "patient"],
)
def test_other_hospitals_other_countries_and_other_roles_get_404(username, document_media):
    batch = released_batch()
    assert client_for(username).get(reverse("batch-certificate", args=[batch.pk])).status_code == 404


def test_a_batch_still_in_testing_has_no_certificate(document_media):
    batch = make_batch()
    record_results(batch)
    client = client_for("pharmacist")
    assert client.get(reverse("batch-certificate", args=[batch.pk])).status_code == 404
    assert "certificate" not in client.get(reverse("batch-detail", args=[batch.pk])).content.decode()


def test_the_batch_page_links_to_the_certificate_once_released():
    batch = released_batch()
    html = client_for("pharmacist").get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert reverse("batch-certificate", args=[batch.pk]) in html
