"""Writes: organisations, memberships, and the group grants that follow from them."""

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from .models import Membership, Organisation, OrganisationGroup, OrganisationGroupObjectPermission, Role, User
from .selectors import national_authority

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
