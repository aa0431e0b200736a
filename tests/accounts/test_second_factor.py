"""Two-factor authentication: an authenticator app (TOTP) and recovery codes, required for
pharmacists, authority reviewers and administrators, optional for everyone else."""

import re
from base64 import b32decode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from atmp_clinic.accounts.demo import DEMO_AUTHENTICATOR_KEY, DEMO_AUTHENTICATOR_SECRET, seed_second_factors
from atmp_clinic.accounts.models import Organisation, Role, User
from atmp_clinic.audit.models import AuditEvent
from tests.conftest import PROJECT_DIR, authenticator_code, run_manage
from tests.factories import member

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-2026"  # the factories' users


def hospital() -> Organisation:
    return Organisation.objects.get(name__startswith="Amstel")


def logged_in_with_password(user: User) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password was not accepted"
    return client


def code_for(key_hex: str) -> str:
    return f"{TOTP(bytes.fromhex(key_hex)).token():06d}"


def events(user: User, action: str) -> int:
    return AuditEvent.objects.filter(object_id=user.pk, content_type__model="user", action=action).count()


def set_up_authenticator(client: Client) -> list[str]:
    """Through the setup page, as a person with their phone would; returns the recovery codes shown."""
    page = client.get(reverse("second-factor-setup")).content.decode()
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = client.post(
        reverse("second-factor-setup"), {"code": code_for(b32decode(secret).hex())}, follow=True
    )
    assert response.resolver_match.url_name == "second-factor-recovery-codes", response.content.decode()[
        -600:
    ]
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())


@pytest.mark.parametrize("role", [Role.PHARMACIST, Role.REVIEWER])
def test_a_role_that_needs_it_must_set_it_up_before_anything_else(demo, role):
    organisation = (
        hospital() if role == Role.PHARMACIST else Organisation.objects.get(kind="authority", country="NL")
    )
    client = logged_in_with_password(member(role=role, organisation=organisation))
    for url in (reverse("home"), reverse("request-list"), reverse("password_change")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(
            reverse("second-factor-setup")
        ), url
    assert client.get(reverse("api:exemption-list")).status_code == 403


def test_an_administrator_must_set_it_up_too_even_for_the_admin(demo):
    admin = member(role=Role.ADMINISTRATOR)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    response = logged_in_with_password(admin).get("/admin/")
    assert response["Location"].startswith(reverse("second-factor-setup"))


def test_setting_up_turns_it_on_shows_ten_recovery_codes_once_and_is_audited(demo):
    user = member(role=Role.PHARMACIST, organisation=hospital())
    client = logged_in_with_password(user)
    codes = set_up_authenticator(client)
    assert len(set(codes)) == 10
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("second-factor-recovery-codes")).status_code == 302  # not shown again
    assert events(user, "second_factor_enabled") == 1
    assert not any(code in str(AuditEvent.objects.filter(object_id=user.pk).values()) for code in codes)


def test_a_wrong_code_does_not_turn_it_on(demo):
    user = member(role=Role.PHARMACIST, organisation=hospital())
    client = logged_in_with_password(user)
    client.get(reverse("second-factor-setup"))
    response = client.post(reverse("second-factor-setup"), {"code": "000000"})
    assert "This code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert client.get(reverse("home")).status_code == 302


def test_the_setup_page_keeps_its_secret_when_reloaded(demo):
    client = logged_in_with_password(member(role=Role.PHARMACIST, organisation=hospital()))
    secret = re.compile(r'data-testid="secret">([A-Z2-7 ]+)<')
    first, again = (
        secret.search(client.get(reverse("second-factor-setup")).content.decode()).group(1) for _ in "ab"
    )
    assert first == again


def test_with_a_second_factor_the_password_alone_gets_only_the_code_page(demo):
    user = member(role=Role.CLINICIAN, organisation=hospital())
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client = logged_in_with_password(user)
    assert client.get(reverse("patient-list"))["Location"].startswith(reverse("second-factor-verify"))
    response = client.post(reverse("second-factor-verify"), {"code": "123456", "next": "/patients/"})
    assert "This code is not right" in response.content.decode()
    response = client.post(
        reverse("second-factor-verify"), {"code": authenticator_code(user), "next": "/patients/"}
    )
    assert response["Location"] == "/patients/"
    assert client.get(reverse("patient-list")).status_code == 200


def test_a_code_is_accepted_only_once(demo):
    user = member(role=Role.CLINICIAN, organisation=hospital())
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    code = f"{TOTP(device.bin_key).token():06d}"
    first = logged_in_with_password(user)
    assert first.post(reverse("second-factor-verify"), {"code": code})["Location"] == reverse("home")
    second = logged_in_with_password(user)
    assert (
        "This code is not right"
        in second.post(reverse("second-factor-verify"), {"code": code}).content.decode()
    )


def test_the_next_address_after_the_code_stays_on_this_site(demo):
    user = member(role=Role.CLINICIAN, organisation=hospital())
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    response = logged_in_with_password(user).post(
        reverse("second-factor-verify"), {"code": authenticator_code(user), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_a_recovery_code_works_once_and_its_use_is_audited(demo):
    user = member(role=Role.PHARMACIST, organisation=hospital())
    codes = set_up_authenticator(logged_in_with_password(user))
    client = logged_in_with_password(user)
    response = client.post(reverse("second-factor-verify"), {"code": codes[0].upper()}, follow=True)
    assert "You used a recovery code; 9 are left" in response.content.decode()
    assert events(user, "recovery_code_used") == 1
    again = logged_in_with_password(user)
    assert (
        "This code is not right"
        in again.post(reverse("second-factor-verify"), {"code": codes[0]}).content.decode()
    )


def test_new_recovery_codes_replace_the_old_ones(demo):
    user = member(role=Role.PHARMACIST, organisation=hospital())
    client = logged_in_with_password(user)
    old = set(set_up_authenticator(client))
    response = client.post(reverse("second-factor-recovery-codes"), follow=True)
    new = set(re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode()))
    assert len(new) == 10 and not old & new
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == new
    assert events(user, "recovery_codes_renewed") == 1


def test_a_stolen_password_cannot_replace_the_authenticator(demo):
    user = member(role=Role.CLINICIAN, organisation=hospital())
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client = logged_in_with_password(user)
    assert client.get(reverse("second-factor-setup"))["Location"] == reverse("second-factor-verify")
    assert client.post(reverse("second-factor-recovery-codes")).status_code == 404
    assert client.post(reverse("second-factor-remove")).status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_it_is_optional_for_a_clinician_who_can_turn_it_on_and_off(demo):
    user = member(role=Role.CLINICIAN, organisation=hospital())
    client = logged_in_with_password(user)
    assert client.get(reverse("home")).status_code == 200
    set_up_authenticator(client)
    response = client.post(reverse("second-factor-remove"), follow=True)
    assert "Two-factor authentication is off" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert events(user, "second_factor_removed") == 1
    assert logged_in_with_password(user).get(reverse("home")).status_code == 200


def test_a_role_that_needs_it_cannot_turn_it_off(demo):
    user = member(role=Role.PHARMACIST, organisation=hospital())
    client = logged_in_with_password(user)
    set_up_authenticator(client)
    response = client.post(reverse("second-factor-remove"), follow=True)
    assert "Your role needs a second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_the_demo_users_who_need_it_have_the_published_authenticator(demo):
    seed_second_factors()  # the suite's demo leaves them out: see seed_demo_fast
    with_device = set(
        TOTPDevice.objects.filter(key=DEMO_AUTHENTICATOR_KEY).values_list("user__username", flat=True)
    )
    assert {"pharmacist", "pharmacist_b", "reviewer", "decider_b", "admin"} <= with_device
    assert not {"clinician", "patient", "analyst"} & with_device


def test_demo_code_prints_the_code_the_demo_authenticator_shows():
    result = run_manage("demo_code")
    assert result.returncode == 0, result.stderr
    code = result.stdout.split()[0]
    assert TOTP(bytes.fromhex(DEMO_AUTHENTICATOR_KEY)).verify(int(code), tolerance=1)


def test_pages_carry_a_content_security_policy_without_inline_code(demo):
    client = logged_in_with_password(member(role=Role.PHARMACIST, organisation=hospital()))
    for url in (reverse("login"), reverse("second-factor-setup")):
        policy = client.get(url)["Content-Security-Policy"]
        assert (
            "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
        )
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy


def test_the_readme_publishes_the_demo_authenticator_key():
    assert DEMO_AUTHENTICATOR_SECRET in (PROJECT_DIR / "README.md").read_text()
