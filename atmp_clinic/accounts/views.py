from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views import i18n
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from atmp_clinic.exemptions.selectors import WorklistSection, worklist_for
from atmp_clinic.followup.forms import reminder_channels_form
from atmp_clinic.followup.selectors import clinician_worklist, own_upcoming_visits
from atmp_clinic.manufacturing.selectors import batches_in_testing, notified_administrations
from atmp_clinic.registry.selectors import expedited_report_queue

from . import services
from .forms import AuthenticatorConfirmForm, SecondFactorCodeForm
from .models import Organisation, Role
from .selectors import (
    authenticator_of,
    get_visible_or_404,
    national_authority,
    organisation_staff,
    recovery_codes_left,
    second_factor_required,
)

WORKLIST_ROWS = 10

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
            "sections": paged(request, worklist_for(user=request.user, membership=membership)),
            "administrations": notified_administrations(user=request.user)[:50]
            if membership.role == Role.REVIEWER and organisation.notify_each_administration
            else None,
        },
    )


def paged(request, sections: list[WorklistSection]) -> list[tuple[WorklistSection, Page]]:
    """Each section of a worklist opens on its most urgent rows, so that what to do now fits the
    screen (and the page costs the same at any volume); `?<section key>=<page>` pages through it."""
    return [
        (section, Paginator(section.rows, WORKLIST_ROWS).get_page(request.GET.get(section.key)))
        for section in sections
    ]


def _follow_up(request, membership) -> dict:
    """Clinicians see the visits to act on, pharmacists the batches to release, both and the
    authority's reviewers the expedited reports waiting on them; patients their own next visits and
    reminder choices."""
    if membership.role == Role.CLINICIAN:
        worklist = clinician_worklist(user=request.user, today=timezone.localdate())
        return {
            "visit_sections": paged(request, worklist.sections),
            "at_risk": worklist.at_risk,
            "today": timezone.localdate(),
            "report_queue": expedited_report_queue(user=request.user, membership=membership),
        }
    if membership.role == Role.PHARMACIST:
        return {
            "batches_in_testing": batches_in_testing(user=request.user),
            "report_queue": expedited_report_queue(user=request.user, membership=membership),
        }
    if membership.role == Role.REVIEWER:
        return {"report_queue": expedited_report_queue(user=request.user, membership=membership)}
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


# --- Second factor ---------------------------------------------------------------------------

# Recovery codes are shown once, on the page the person is sent to right after they were made.
NEW_RECOVERY_CODES = "new_recovery_codes"


def _next_or_home(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("home")


@login_required
def second_factor(request):
    """Whether the person has a second factor, and what they can do about it."""
    return render(
        request,
        "accounts/second_factor.html",
        {
            "authenticator": authenticator_of(user=request.user),
            "required": second_factor_required(user=request.user),
            "codes_left": recovery_codes_left(user=request.user),
        },
    )


@login_required
def second_factor_verify(request):
    """After the password: the code from the authenticator app, or a recovery code."""
    if request.user.is_verified():
        return _next_or_home(request)
    if not user_has_device(request.user):
        return redirect("second-factor-setup")
    form = SecondFactorCodeForm(request.POST or None)
    if form.is_valid():
        try:
            device = services.second_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error(None, error)  # a message per field, or on top
        else:
            otp_login(request, device)
            if device.name == services.RECOVERY_CODES_NAME:
                messages.warning(
                    request,
                    _(
                        "You used a recovery code; %(left)s are left. "
                        "Make new ones on your two-factor page if you are running out."
                    )
                    % {"left": recovery_codes_left(user=request.user)},
                )
            return _next_or_home(request)
    return render(
        request, "accounts/second_factor_verify.html", {"form": form, "next": request.GET.get("next", "")}
    )


@login_required
def second_factor_setup(request):
    """Adding an authenticator app: scan the QR code (or type the key), then enter the code it shows.
    Replacing an authenticator needs the old one first, so a stolen password cannot replace it."""
    if user_has_device(request.user) and not request.user.is_verified():
        return redirect("second-factor-verify")
    device = services.authenticator_start(user=request.user)
    form = AuthenticatorConfirmForm(request.POST or None)
    if form.is_valid():
        try:
            codes = services.authenticator_confirm(
                user=request.user, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            form.add_error(None, error)  # a message per field, or on top
        else:
            otp_login(request, device)
            request.session[NEW_RECOVERY_CODES] = codes
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("second-factor-recovery-codes")
    qr = segno.make(device.config_url, error="m")
    qr_title = _("QR code to scan with your authenticator app")
    return render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            # segno's SVG: only paths and attributes, no script or style, so the CSP allows it inline.
            "qr_svg": mark_safe(qr.svg_inline(scale=5, title=qr_title)),  # noqa: S308  # nosec B308 B703
            "key": " ".join(b32encode(device.bin_key).decode()[i : i + 4] for i in range(0, 32, 4)),
            "required": second_factor_required(user=request.user),
        },
    )


@login_required
def second_factor_recovery_codes(request):
    """New recovery codes, shown once; asking for new ones replaces the old set."""
    if request.method == "POST":
        if not request.user.is_verified():
            raise Http404
        request.session[NEW_RECOVERY_CODES] = services.recovery_codes_renew(user=request.user)
        return redirect("second-factor-recovery-codes")
    codes = request.session.pop(NEW_RECOVERY_CODES, None)
    if not codes:
        return redirect("second-factor")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def second_factor_remove(request):
    if not request.user.is_verified():
        raise Http404
    try:
        services.second_factor_remove(user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Two-factor authentication is off."))
    return redirect("second-factor")


@require_POST
def set_language(request):
    """Django's set_language (the language cookie, then back to the page), and for a logged-in person
    the choice kept on their account too."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_set_language(user=request.user, language=language)
    return response
