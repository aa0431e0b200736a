"""An e-signature by someone with a second factor needs its code as well as the password, every time
(21 CFR 11.200(a)(1)); a code signs once; wrong codes are counted even though each refused signature
rolls its transaction back."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from atmp_clinic.accounts.selectors import authenticator_of
from atmp_clinic.accounts.services import CODE_ATTEMPTS, TOO_MANY_CODES, WRONG_CODE, recovery_codes_renew
from atmp_clinic.audit.models import AuditEvent, Signature
from atmp_clinic.audit.services import CODE_NEEDED
from atmp_clinic.exemptions import services
from atmp_clinic.exemptions.models import ExemptionRequest, State
from tests.api.conftest import client_for
from tests.conftest import authenticator_code, log_in, signature_of
from tests.exemptions.conftest import PASSWORD, new_draft, user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_authenticators")]


def co_signed() -> ExemptionRequest:
    request = new_draft()
    services.request_co_sign(actor=user("clinician"), request=request, password=PASSWORD)
    return request


def nothing_signed(request: ExemptionRequest) -> bool:
    request.refresh_from_db()
    return (
        request.state == State.DRAFT
        and not Signature.objects.filter(object_id=request.pk, meaning="submitted").exists()
        and not AuditEvent.objects.filter(object_id=request.pk, action="submitted").exists()
    )


def submit(request: ExemptionRequest, **signature) -> ExemptionRequest:
    return services.request_submit(actor=user("pharmacist"), request=request, **signature)


def test_the_password_alone_does_not_sign_for_someone_with_a_second_factor():
    request = co_signed()
    with pytest.raises(ValidationError) as refused:
        submit(request, password=PASSWORD)
    assert refused.value.message_dict == {"code": [CODE_NEEDED]}
    assert nothing_signed(request)


def test_a_wrong_code_signs_nothing():
    request = co_signed()
    with pytest.raises(ValidationError) as refused:
        submit(request, password=PASSWORD, code="000000")
    assert refused.value.message_dict == {"code": [WRONG_CODE]}
    assert nothing_signed(request)


def test_the_password_is_checked_before_the_code_and_a_wrong_one_spends_no_code():
    request = co_signed()
    code = authenticator_code(user("pharmacist"))
    with pytest.raises(ValidationError) as refused:
        submit(request, password="guess", code=code)
    assert list(refused.value.message_dict) == ["password"]
    assert submit(request, password=PASSWORD, code=code).state == State.SUBMITTED


def test_password_and_code_sign_and_the_same_code_does_not_sign_twice():
    pharmacist = user("pharmacist")
    code = authenticator_code(pharmacist)
    assert submit(co_signed(), password=PASSWORD, code=code).state == State.SUBMITTED
    second = co_signed()
    with pytest.raises(ValidationError) as refused:
        submit(second, password=PASSWORD, code=code)
    assert refused.value.message_dict == {"code": [WRONG_CODE]}
    assert nothing_signed(second)
    # The app's next code, a moment later, signs.
    assert submit(second, **signature_of(pharmacist)).state == State.SUBMITTED


def test_a_recovery_code_signs_once_and_its_use_is_audited():
    pharmacist = user("pharmacist")
    recovery_code = recovery_codes_renew(user=pharmacist)[0]
    request = submit(co_signed(), password=PASSWORD, code=recovery_code.upper())
    assert request.state == State.SUBMITTED
    assert AuditEvent.objects.filter(object_id=pharmacist.pk, action="recovery_code_used").count() == 1
    second = co_signed()
    with pytest.raises(ValidationError):
        submit(second, password=PASSWORD, code=recovery_code)
    assert nothing_signed(second)


def test_wrong_codes_at_signatures_are_counted_though_each_refusal_is_rolled_back():
    pharmacist = user("pharmacist")
    request = co_signed()
    for _ in range(CODE_ATTEMPTS):
        with pytest.raises(ValidationError):
            submit(request, password=PASSWORD, code="000000")
    with pytest.raises(ValidationError) as refused:
        submit(request, **signature_of(pharmacist))
    assert refused.value.message_dict == {"code": [TOO_MANY_CODES]}
    assert nothing_signed(request)
    # The login's code page counts the same wrong codes: the pause holds there too.
    client = Client()
    client.post(reverse("login"), {"username": "pharmacist", "password": PASSWORD})
    response = client.post(reverse("second-factor-verify"), {"code": authenticator_code(pharmacist)})
    assert TOO_MANY_CODES in response.content.decode()


def test_wrong_codes_at_the_login_pause_codes_too():
    pharmacist = user("pharmacist")
    client = Client()
    client.post(reverse("login"), {"username": "pharmacist", "password": PASSWORD})
    for _ in range(CODE_ATTEMPTS):
        assert (
            "This code is not right"
            in client.post(reverse("second-factor-verify"), {"code": "1"}).content.decode()
        )
    response = client.post(reverse("second-factor-verify"), {"code": authenticator_code(pharmacist)})
    assert TOO_MANY_CODES in response.content.decode()
    assert response.status_code == 200  # still the code page: not logged in


def test_someone_without_a_second_factor_signs_with_the_password():
    clinician = user("clinician")
    assert authenticator_of(user=clinician) is None
    request = new_draft()
    services.request_co_sign(actor=clinician, request=request, password=PASSWORD)
    assert Signature.objects.filter(object_id=request.pk, signer=clinician).exists()


def test_the_page_asks_for_the_code_only_of_a_signer_who_has_a_second_factor():
    request = co_signed()
    pharmacist_page = log_in(Client(), user("pharmacist")).get(reverse("request-detail", args=[request.pk]))
    assert "Authenticator code" in pharmacist_page.content.decode()
    draft = new_draft()
    clinician_page = log_in(Client(), user("clinician")).get(reverse("request-detail", args=[draft.pk]))
    assert "Enter your password again" in clinician_page.content.decode()
    assert "Authenticator code" not in clinician_page.content.decode()


def test_the_page_keeps_the_step_and_says_why_when_the_code_is_wrong():
    request = co_signed()
    client = log_in(Client(), user("pharmacist"))
    response = client.post(
        reverse("request-step", args=[request.pk, "submit"]), {"password": PASSWORD, "code": "000000"}
    )
    assert response.status_code == 400
    assert "This code is not right" in response.content.decode()
    assert nothing_signed(request)
    response = client.post(
        reverse("request-step", args=[request.pk, "submit"]), signature_of(user("pharmacist"))
    )
    assert response.status_code == 302
    assert ExemptionRequest.objects.get(pk=request.pk).state == State.SUBMITTED


def test_the_api_asks_for_the_code_by_name_and_signs_with_it():
    request = co_signed()
    url = f"/api/v1/exemptions/{request.pk}/transitions/submit/"
    response = client_for("pharmacist").post(url, {"password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": [CODE_NEEDED]}
    assert nothing_signed(request)
    response = client_for("pharmacist").post(url, signature_of(user("pharmacist")), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"]["value"] == State.SUBMITTED
