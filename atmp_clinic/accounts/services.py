"""Writes: organisations, memberships and the group grants that follow from them; second factors."""

import logging
from contextlib import suppress

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm
from redis.exceptions import RedisError

from atmp_clinic.audit.services import record_event

from .models import Membership, Organisation, OrganisationGroup, OrganisationGroupObjectPermission, Role, User
from .selectors import national_authority, recovery_codes_left, second_factor_required

VIEW_ORGANISATION = "accounts.view_organisation"


def organisation_group(*, organisation: Organisation, role: str = OrganisationGroup.STAFF) -> Group:
    """The group of an organisation's members of `role`, or of all its staff; made on first use."""
    existing = (
        OrganisationGroup.objects.select_related("group").filter(organisation=organisation, role=role).first()
    )
    if existing:
        return existing.group
    group = Group.objects.create(name=f"organisation {organisation.pk}: {role or 'staff'}")
    OrganisationGroup.objects.create(group=group, organisation=organisation, role=role)
    return group


@transaction.atomic
def organisation_save(*, organisation: Organisation) -> Organisation:
    """Create or change an organisation, then grant who may see it."""
    previous_country = (
        Organisation.objects.filter(pk=organisation.pk).values_list("country", flat=True).first()
        if organisation.pk
        else None
    )
    organisation.full_clean()
    organisation.save()
    for country in {organisation.country, previous_country} - {None}:
        _sync_organisation_visibility(country=country)
    return organisation


def _sync_organisation_visibility(*, country: str) -> None:
    """Staff see their own organisation; a hospital and its national authority see each other.
    Patients see neither: the pages list staff and their contacts."""
    organisations = list(Organisation.objects.filter(country=country))
    authority = national_authority(country=country)
    for organisation in organisations:
        viewers = {organisation_group(organisation=organisation)}
        if authority and organisation.pk != authority.pk:
            viewers.add(organisation_group(organisation=authority))
        if organisation.is_authority:
            viewers.update(organisation_group(organisation=o) for o in organisations if o.is_hospital)
        OrganisationGroupObjectPermission.objects.filter(
            content_object=organisation,
            permission__codename="view_organisation",
            group__organisation_group__isnull=False,
        ).exclude(group__in=viewers).delete()
        for group in viewers:
            assign_perm(VIEW_ORGANISATION, group, organisation)


@transaction.atomic
def membership_create(
    *,
    user: User,
    role: str,
    organisation: Organisation | None = None,
    is_validator: bool = False,
    is_assessor: bool = False,
    is_decider: bool = False,
    is_qualified_person: bool = False,
) -> Membership:
    """Give a user a role, ending the membership they had before."""
    for previous in (
        Membership.objects.select_for_update().filter(user=user, ended_at__isnull=True).order_by("pk")
    ):
        membership_end(membership=previous)
    membership = Membership(
        user=user,
        organisation=organisation,
        role=role,
        is_validator=is_validator,
        is_assessor=is_assessor,
        is_decider=is_decider,
        is_qualified_person=is_qualified_person,
    )
    membership.full_clean()
    membership.save()
    user_sync_groups(user=user)
    return membership


@transaction.atomic
def membership_end(*, membership: Membership) -> Membership:
    if membership.ended_at is None:
        membership.ended_at = timezone.now()
        membership.save(update_fields=["ended_at"])
        user_sync_groups(user=membership.user)
    return membership


def user_sync_groups(*, user: User) -> None:
    """Make the user's organisation groups exactly those of their active memberships."""
    wanted = set()
    for membership in Membership.objects.select_related("organisation").filter(
        user=user, ended_at__isnull=True
    ):
        if membership.organisation is None:
            continue
        if membership.role != Role.PATIENT:
            wanted.add(organisation_group(organisation=membership.organisation))
        wanted.add(organisation_group(organisation=membership.organisation, role=membership.role))
    current = set(user.groups.filter(organisation_group__isnull=False))
    user.groups.remove(*(current - wanted))
    user.groups.add(*(wanted - current))


def user_set_language(*, user: User, language: str) -> User:
    """Keep the language a person chose for the pages, so that every browser they log in from shows it.
    Only the pages': a patient's reminders and letters follow the language their hospital recorded
    (PatientIdentity.preferred_language), whoever changes the pages' language."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": f"{language!r} is not a language of the platform."})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


# --- Second factor: an authenticator app (TOTP) and single-use recovery codes --------------------

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10
# English here, as tests compare it; translated where raised.
WRONG_CODE = gettext_noop(
    "This code is not right, or it was used already. Enter the code your authenticator app shows now."
)
# Wrong codes are counted in the cache, not on the device: a code checked inside a signature's
# transaction would have its failure rolled back with the refused step, and could be guessed forever.
CODE_ATTEMPTS = 5
CACHE_DOWN = (RedisError, OSError)
logger = logging.getLogger(__name__)
CODE_PAUSE_SECONDS = 15 * 60
TOO_MANY_CODES = gettext_noop(
    "Too many wrong codes: wait 15 minutes, then enter the code your authenticator app shows."
)


def authenticator_start(*, user: User) -> TOTPDevice:
    """The authenticator being set up. The same unconfirmed one is kept until it is confirmed, so that
    reloading the page does not change the QR code the person may have scanned already."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@transaction.atomic
def authenticator_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """The first code from the app proves it holds the secret. It replaces any earlier authenticator,
    and comes with a new set of recovery codes, returned for showing once."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError(gettext("This authenticator is not being set up: start again."))
    if not device.verify_token("".join(code.split())):
        raise ValidationError({"code": gettext(WRONG_CODE)})
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user=user)
    record_event(actor=user, obj=user, action="second_factor_enabled", after={"recovery_codes": len(codes)})
    return codes


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str]:
    """A new set of recovery codes; the earlier ones stop working."""
    codes = _new_recovery_codes(user=user)
    record_event(actor=user, obj=user, action="recovery_codes_renewed", after={"recovery_codes": len(codes)})
    return codes


def _new_recovery_codes(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_CODES_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_verify(*, user: User, code: str) -> Device:
    """The device a code from the authenticator app, or an unused recovery code, belongs to. A recovery
    code works once, and its use is audited. After CODE_ATTEMPTS wrong codes in a row, every code is
    refused until CODE_PAUSE_SECONDS have passed since the last. Used at login and inside each
    e-signature's transaction."""
    failures_key = f"second-factor-failures:{user.pk}"
    try:
        failures = cache.get(failures_key, 0)
    except CACHE_DOWN:
        # Nobody with a second factor could log in or sign while Redis is down: the password's
        # lockout (axes, in the database) still stands, so wrong codes go uncounted for that time.
        logger.warning("The cache is unreachable: wrong second-factor codes are not counted")
        failures = None
    if failures is not None and failures >= CODE_ATTEMPTS:
        raise ValidationError({"code": gettext(TOO_MANY_CODES)})
    # Codes are read aloud or copied with spaces; recovery codes are lower case, digits have no case.
    device = match_token(user, "".join(code.split()).lower())
    if failures is not None:
        with suppress(*CACHE_DOWN):
            if device is None:
                cache.set(failures_key, failures + 1, timeout=CODE_PAUSE_SECONDS)
            else:
                cache.delete(failures_key)
    if device is None:
        raise ValidationError({"code": gettext(WRONG_CODE)})
    if isinstance(device, StaticDevice):
        record_event(
            actor=user,
            obj=user,
            action="recovery_code_used",
            after={"recovery_codes_left": recovery_codes_left(user=user)},
        )
    return device


@transaction.atomic
def second_factor_remove(*, user: User) -> None:
    """Only for people whose role does not need a second factor."""
    if second_factor_required(user=user):
        raise ValidationError(
            gettext("Your role needs a second factor: you can replace your authenticator, not remove it.")
        )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record_event(actor=user, obj=user, action="second_factor_removed")
