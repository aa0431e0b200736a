"""Reads of issued documents, and who may have which."""

import hashlib
from collections.abc import Iterable
from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.db.models import Min, QuerySet
from django.db.models.functions import Coalesce

from atmp_clinic.accounts.models import Organisation, Role, User
from atmp_clinic.accounts.selectors import active_membership
from atmp_clinic.followup.models import FollowUpPlan
from atmp_clinic.patients.services import HOSPITAL_STAFF

from .models import AnnualReportJob, DocumentKind, IssuedDocument

FIRST_YEAR = 2007  # Regulation 1394/2007 created the hospital exemption: an earlier year is a typo


def issued_with_hash(chunks: Iterable[bytes]) -> tuple[str, list[IssuedDocument]]:
    """The SHA-256 of a file's bytes and every issue of a document with exactly those bytes."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    sha256 = digest.hexdigest()
    return sha256, list(
        IssuedDocument.objects.filter(sha256=sha256).select_related("issued_by", "content_type")
    )


def annual_report_hospitals(*, user: User) -> QuerySet[Organisation]:
    """The hospitals whose annual reports the user may have: every hospital of their country for an
    authority's reviewer, their own hospital for its pharmacists and clinicians, none for anyone
    else (patients; analysts, whose view is the registry's consented, pseudonymised data, while the
    report covers every patient treated)."""
    hospitals = Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL)
    membership = active_membership(user=user)
    if membership is None or not user.is_active:
        return hospitals.none()
    if membership.role == Role.REVIEWER:
        return hospitals.filter(country=membership.organisation.country)
    if membership.role in HOSPITAL_STAFF:
        return hospitals.filter(pk=membership.organisation_id)
    return hospitals.none()


def report_years(*, hospitals: QuerySet[Organisation], today: date) -> list[int]:
    """The years a report can be asked for, the latest first: from the first treatment among these
    hospitals to this year, whose report covers the year so far."""
    first = FollowUpPlan.objects.filter(patient__hospital__in=hospitals).aggregate(first=Min("starts_on"))[
        "first"
    ]
    return list(range(today.year, (first or today).year - 1, -1))


def plans_followed_between(plans: QuerySet[FollowUpPlan], start: date, end: date) -> QuerySet[FollowUpPlan]:
    """The plans whose follow-up ran at some time from `start` to `end`: begun by then, and not
    ended (or due to end) before."""
    return plans.annotate(followed_until=Coalesce("ended_on", "ends_on")).filter(
        starts_on__lte=end, followed_until__gte=start
    )


def hospitals_to_report(*, year: int) -> QuerySet[Organisation]:
    """Hospitals with patients under follow-up at some time in the year: each owes its report."""
    followed = plans_followed_between(FollowUpPlan.objects.all(), date(year, 1, 1), date(year, 12, 31))
    return Organisation.objects.filter(
        kind=Organisation.Kind.HOSPITAL, pk__in=followed.values("patient__hospital")
    ).order_by("pk")


def issued_annual_reports(*, user: User) -> QuerySet[IssuedDocument]:
    """The reports the yearly task issued for the hospitals whose reports the user may have."""
    return IssuedDocument.objects.filter(
        kind=DocumentKind.ANNUAL_REPORT,
        content_type=ContentType.objects.get_for_model(Organisation),
        object_id__in=annual_report_hospitals(user=user).values("pk"),
        issued_by__isnull=True,
    )


def annual_report_jobs(*, user: User) -> QuerySet[AnnualReportJob]:
    """The reports the user asked for, of the hospitals whose reports they may still have: the
    document is issued to them, so a colleague, and they after leaving, find none of it."""
    return AnnualReportJob.objects.filter(
        requested_by=user, hospital__in=annual_report_hospitals(user=user)
    ).select_related("hospital", "document")
