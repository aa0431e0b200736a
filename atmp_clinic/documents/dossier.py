"""The request dossier (SPEC §6): everything a hospital submitted with an exemption request, as the
authority received it: the request's fields, the product, the patient by pseudonym only, the
attached documents with their SHA-256, and the signatures given over that content."""

from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from atmp_clinic.audit.selectors import signatures_for
from atmp_clinic.exemptions.models import CRITERIA, ExemptionRequest, State

from . import pdf
from .pdf import Built


def is_available(request: ExemptionRequest) -> bool:
    """A dossier documents a submission: none for a draft never sent, and none while a returned
    request is being reworked, when its fields are no longer what the authority received."""
    return request.submitted_at is not None and request.state != State.RETURNED


def _date(value: date | None) -> str:
    return date_format(value, "j F Y") if value else "—"


def _section(heading: str, body: str, style: pdf.Styles) -> list[Flowable]:
    return [Paragraph(pdf.text(heading), style.heading), pdf.multiline(body, style.body)]


def _not_otherwise_available(request: ExemptionRequest) -> str:
    if request.not_otherwise_available:
        return _(
            "The hospital states that the product is not available through a marketing authorisation, "
            "a clinical trial or a compassionate-use programme."
        )
    return _(
        "The hospital has not stated that the product is not available through a marketing "
        "authorisation, a clinical trial or a compassionate-use programme."
    )


def _attachments(request: ExemptionRequest, style: pdf.Styles) -> list[Flowable]:
    attachments = list(request.attachments.all())
    if not attachments:
        return [Paragraph(pdf.text(_("No documents attached.")), style.body)]
    rows = [
        [
            Paragraph(f"{pdf.text(a.original_name)}<br/>{pdf.text(a.description)}", style.cell),
            a.pages,
            pdf.digest(a.sha256, style),
        ]
        for a in attachments
    ]
    return [
        pdf.table(
            [_("Document"), _("Pages"), _("SHA-256")], rows, style=style, widths=[49 * mm, 18 * mm, 103 * mm]
        )
    ]


def build(request: ExemptionRequest) -> Built:
    style = pdf.styles()
    product, physician = request.product, request.responsible_physician
    title = _("Request dossier — %(reference)s") % {"reference": request.reference}
    story: list[Flowable] = [
        Paragraph(pdf.text(title), style.title),
        Paragraph(
            pdf.text(
                _("%(kind)s from %(hospital)s to %(authority)s, submitted %(submitted)s UTC.")
                % {
                    "kind": request.get_kind_display(),
                    "hospital": request.hospital.name,
                    "authority": request.authority.name,
                    "submitted": f"{request.submitted_at:%Y-%m-%d %H:%M}",
                }
            ),
            style.body,
        ),
        pdf.key_values(
            [
                (_("Reference"), request.reference),
                (_("Kind"), request.get_kind_display()),
                *([(_("Modifies permit"), request.modifies.reference)] if request.modifies else []),
                (_("State"), request.get_state_display()),
                (_("Hospital"), request.hospital.name),
                (
                    _("Hospital's manufacturing authorisation"),
                    request.hospital.manufacturing_authorisation_number,
                ),
                (_("Authority"), request.authority.name),
                (_("Patient (pseudonymous code)"), request.patient.pseudonym),
                (_("Responsible physician"), physician.get_full_name() if physician else "—"),
            ],
            style=style,
        ),
        Paragraph(pdf.text(_("Product")), style.heading),
        pdf.key_values(
            [
                (_("Name"), product.name),
                (_("ATMP class"), product.get_atmp_class_display()),
                (_("Origin"), product.get_origin_display()),
                *([(_("Vector"), product.get_vector_kind_display())] if product.vector_kind else []),
            ],
            style=style,
        ),
        pdf.multiline(product.mechanism_of_action, style.body),
        *_section(_("Indication"), f"{request.indication_code} {request.indication}".strip(), style),
        *_section(_("Justification of the unmet need"), request.unmet_need, style),
        Paragraph(pdf.text(_not_otherwise_available(request)), style.body),
        Paragraph(pdf.text(_("Hospital-exemption criteria")), style.heading),
        pdf.table(
            [_("Criterion"), _("Attested")],
            [[label, _("Yes") if getattr(request, field) else _("No")] for field, label in CRITERIA.items()],
            style=style,
            widths=[140 * mm, 30 * mm],
        ),
        Paragraph(pdf.text(_("Treatment")), style.heading),
        pdf.key_values(
            [
                (_("Dose"), request.dose or "—"),
                (_("Route"), request.get_route_display() or "—"),
                (_("Frequency"), request.frequency or "—"),
                (_("Batches expected"), request.batches_expected or "—"),
                (_("Planned administration"), _date(request.planned_administration_date)),
            ],
            style=style,
        ),
        Paragraph(pdf.text(_("Manufacturing")), style.heading),
        pdf.key_values(
            [
                (_("Manufacturing site"), request.manufacturing_site or "—"),
                (_("Site's authorisation"), request.manufacturing_authorisation or "—"),
                (_("Qualified person for batch release"), request.qualified_person or "—"),
            ],
            style=style,
        ),
        *_section(_("Quality summary"), request.quality_summary, style),
        *_section(_("Pharmacovigilance arrangements"), request.pharmacovigilance, style),
        *_section(_("Proposed follow-up plan"), request.follow_up_plan, style),
        Paragraph(pdf.text(_("Attached documents")), style.heading),
        *_attachments(request, style),
        Paragraph(pdf.text(_("Signatures")), style.heading),
    ]
    for signature in signatures_for(obj=request):
        story += pdf.signature_block(signature, style=style)
    return Built(
        pdf=pdf.render(
            story,
            title=title,
            author=request.hospital.name,
            subject=_("Hospital-exemption request submitted to %(authority)s")
            % {"authority": request.authority.name},
            reference=request.reference,
        ),
        title=title,
        filename=f"{request.reference}-dossier.pdf",
    )
