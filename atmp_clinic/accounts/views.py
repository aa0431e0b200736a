from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from atmp_clinic.exemptions.selectors import worklist_for
from atmp_clinic.followup.forms import reminder_channels_form
from atmp_clinic.followup.selectors import clinician_worklist, own_upcoming_visits, patients_at_risk
from atmp_clinic.manufacturing.selectors import batches_in_testing, notified_administrations
from atmp_clinic.registry.selectors import expedited_report_queue

from .models import Organisation, Role
from .selectors import get_visible_or_404, national_authority, organisation_staff

HOME_TEMPLATES = {
    Role.PHARMACIST: "accounts/home/pharmacist.html",
    Role.CLINICIAN: "accounts/home/clinician.html",
    Role.REVIEWER: "accounts/home/reviewer.html",
    Role.PATIENT: "accounts/home/patient.html",
    Role.ANALYST: "accounts/home/analyst.html",
    Role.ADMINISTRATOR: "accounts/home/administrator.html",
}


def organisation_for_roles_or_404(request, roles: set[str]) -> Organisation:
    """The organisation of the person's active role when that role is one of `roles`; for anyone
    else the page does not exist."""
    membership = request.membership
    if not membership or membership.role not in roles:
        raise Http404
    return membership.organisation


@login_required
def home(request):
    """Each role lands on its own worklist."""
    membership = request.membership
    if not membership:
        return render(request, "accounts/home/no_role.html")
    organisation = membership.organisation
    authority = (
        national_authority(country=organisation.country)
        if organisation and organisation.is_hospital
        else None
    )
    return render(
        request,
        HOME_TEMPLATES[Role(membership.role)],
        {
            **_follow_up(request, membership),
            "membership": membership,
            "authority": authority,
            "sections": worklist_for(user=request.user, membership=membership),
            "administrations": notified_administrations(user=request.user)[:50]
            if membership.role == Role.REVIEWER and organisation.notify_each_administration
            else None,
        },
    )


def _follow_up(request, membership) -> dict:
    """Clinicians see the visits to act on, pharmacists the batches to release, both and the
    authority's reviewers the expedited reports waiting on them; patients their own next visits and
    reminder choices."""
    if membership.role == Role.CLINICIAN:
        return {
            "visit_sections": clinician_worklist(user=request.user, today=timezone.localdate()),
            "at_risk": patients_at_risk(user=request.user),
            "today": timezone.localdate(),
            "report_queue": expedited_report_queue(user=request.user),
        }
    if membership.role == Role.PHARMACIST:
        return {
            "batches_in_testing": batches_in_testing(user=request.user),
            "report_queue": expedited_report_queue(user=request.user),
        }
    if membership.role == Role.REVIEWER:
        return {"report_queue": expedited_report_queue(user=request.user)}
    patient = getattr(request.user, "patient", None)
    if membership.role == Role.PATIENT and patient is not None:
        return {
            "upcoming": own_upcoming_visits(user=request.user),
            "reminder_form": reminder_channels_form(patient),
            "reminder_days": settings.REMINDER_DAYS_BEFORE,
            "today": timezone.localdate(),
        }
    return {}


@login_required
def organisation_detail(request, pk: int):
    organisation = get_visible_or_404(user=request.user, queryset=Organisation.objects.all(), pk=pk)
    authority = None if organisation.is_authority else national_authority(country=organisation.country)
    return render(
        request,
        "accounts/organisation_detail.html",
        {
            "organisation": organisation,
            "authority": authority,
            "staff": organisation_staff(organisation=organisation),
        },
    )
