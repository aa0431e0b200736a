"""Users, the organisations they work for (hospitals and national authorities) and their roles.

Object permissions follow one pattern (see selectors.py): each organisation has one auth Group per
role plus one for all its members; objects are granted to those groups through django-guardian's
direct foreign-key permission models, declared beside each permission-checked model.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

# The EU and EEA member states, whose national authorities may grant a hospital exemption.
COUNTRIES = [
    ("AT", _("Austria")), ("BE", _("Belgium")), ("BG", _("Bulgaria")), ("HR", _("Croatia")),
    ("CY", _("Cyprus")), ("CZ", _("Czechia")), ("DK", _("Denmark")), ("EE", _("Estonia")),
    ("FI", _("Finland")), ("FR", _("France")), ("DE", _("Germany")), ("GR", _("Greece")),
    ("HU", _("Hungary")), ("IS", _("Iceland")), ("IE", _("Ireland")), ("IT", _("Italy")),
    ("LV", _("Latvia")), ("LI", _("Liechtenstein")), ("LT", _("Lithuania")), ("LU", _("Luxembourg")),
    ("MT", _("Malta")), ("NL", _("Netherlands")), ("NO", _("Norway")), ("PL", _("Poland")),
    ("PT", _("Portugal")), ("RO", _("Romania")), ("SK", _("Slovakia")), ("SI", _("Slovenia")),
    ("ES", _("Spain")), ("SE", _("Sweden")),
]  # fmt: skip


class User(AbstractUser):
    """Django's user, ours from the first migration so that fields can be added later."""

    # The pages' language only: what is sent to a patient follows PatientIdentity.preferred_language.
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of the pages; empty: the browser's."),
    )

    class Meta:
        db_table = "accounts_user"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        AUTHORITY = "authority", _("National competent authority")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(max_length=2, choices=COUNTRIES)
    address = models.TextField(blank=True, help_text=_("Postal address, printed on letters."))
    phone = models.CharField(
        max_length=30,
        blank=True,
        help_text=_("The number patients call about their visits, printed in reminders."),
    )
    manufacturing_authorisation_number = models.CharField(
        max_length=60, blank=True, help_text=_("Hospitals only: the authorisation of the manufacturing site.")
    )

    # An authority's rules (SPEC §2); empty for hospitals.
    validation_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Days from submission to validation.")
    )
    assessment_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Days from validation to decision, clock stops excluded.")
    )
    information_response_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Days a hospital has to answer a request for information.")
    )
    permit_validity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Days a permit is valid from its decision.")
    )
    notify_each_administration = models.BooleanField(
        default=False, help_text=_("Every administration of an exempted product is notified at once.")
    )
    expedited_report_deadline = models.DurationField(
        null=True, blank=True, help_text=_("Time to report a serious adverse reaction.")
    )
    expedited_report_deadline_fatal = models.DurationField(
        null=True, blank=True, help_text=_("Time to report a fatal or life-threatening one.")
    )

    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # EU defaults an authority starts from (SPEC §2).
    DEFAULT_EXPEDITED_REPORT_DEADLINE = timedelta(days=15)
    DEFAULT_EXPEDITED_REPORT_DEADLINE_FATAL = timedelta(days=7)
    AUTHORITY_RULE_FIELDS = (
        "validation_days",
        "assessment_days",
        "information_response_days",
        "permit_validity_days",
        "expedited_report_deadline",
        "expedited_report_deadline_fatal",
    )

    class Meta:
        ordering = ["country", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["country"],
                condition=Q(kind="authority"),
                name="one_authority_per_country",
            ),
            models.UniqueConstraint(fields=["country", "name"], name="organisation_name_unique_in_country"),
            models.CheckConstraint(
                condition=Q(kind="hospital") | Q(kind="authority"), name="organisation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="authority") | ~Q(manufacturing_authorisation_number=""),
                name="hospital_has_manufacturing_authorisation",
            ),
            models.CheckConstraint(
                condition=Q(kind="hospital")
                | Q(
                    validation_days__isnull=False,
                    assessment_days__isnull=False,
                    information_response_days__isnull=False,
                    permit_validity_days__isnull=False,
                    expedited_report_deadline__isnull=False,
                    expedited_report_deadline_fatal__isnull=False,
                ),
                name="authority_has_rules",
            ),
            models.CheckConstraint(
                condition=Q(expedited_report_deadline_fatal__lte=models.F("expedited_report_deadline"))
                | Q(kind="hospital"),
                name="fatal_report_deadline_not_longer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"

    @property
    def is_hospital(self) -> bool:
        return self.kind == self.Kind.HOSPITAL

    @property
    def is_authority(self) -> bool:
        return self.kind == self.Kind.AUTHORITY

    def clean(self) -> None:
        errors = {}
        if self.is_hospital and not self.manufacturing_authorisation_number:
            errors["manufacturing_authorisation_number"] = (
                "A hospital needs its manufacturing authorisation number."
            )
        if self.is_authority:
            for name in self.AUTHORITY_RULE_FIELDS:
                if getattr(self, name) is None:
                    errors[name] = "An authority needs this rule."
            if (
                self.expedited_report_deadline is not None
                and self.expedited_report_deadline_fatal is not None
                and self.expedited_report_deadline_fatal > self.expedited_report_deadline
            ):
                errors["expedited_report_deadline_fatal"] = (
                    "A fatal or life-threatening reaction cannot have a longer deadline than the others."
                )
        if errors:
            raise ValidationError(errors)


class Role(models.TextChoices):
    PHARMACIST = "pharmacist", _("Hospital pharmacist")
    CLINICIAN = "clinician", _("Clinician")
    REVIEWER = "reviewer", _("Authority reviewer")
    PATIENT = "patient", _("Patient")
    ANALYST = "analyst", _("Registry analyst")
    ADMINISTRATOR = "administrator", _("Administrator")


# Which kind of organisation a role belongs to; None: the role belongs to no organisation.
ROLE_ORGANISATION_KIND = {
    Role.PHARMACIST: Organisation.Kind.HOSPITAL,
    Role.CLINICIAN: Organisation.Kind.HOSPITAL,
    Role.PATIENT: Organisation.Kind.HOSPITAL,
    Role.REVIEWER: Organisation.Kind.AUTHORITY,
    Role.ANALYST: None,
    Role.ADMINISTRATOR: None,
}


class Membership(models.Model):
    """A user's role in an organisation. Ended, never deleted: who held which role stays known."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # An authority reviewer's capabilities in the review of a request (SPEC §4).
    is_validator = models.BooleanField("validator", default=False)
    is_assessor = models.BooleanField("assessor", default=False)
    is_decider = models.BooleanField("decider", default=False)
    # A hospital pharmacist who certifies and releases batches (EU GMP's qualified person).
    is_qualified_person = models.BooleanField("qualified person", default=False)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation__name", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(ended_at__isnull=True), name="one_active_membership_per_user"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["analyst", "administrator"], organisation__isnull=True)
                | Q(role__in=["pharmacist", "clinician", "patient", "reviewer"], organisation__isnull=False),
                name="membership_organisation_matches_role",
            ),
            models.CheckConstraint(
                condition=Q(role="reviewer") | Q(is_validator=False, is_assessor=False, is_decider=False),
                name="capabilities_only_for_reviewers",
            ),
            models.CheckConstraint(
                condition=Q(role="pharmacist") | Q(is_qualified_person=False),
                name="qualified_person_is_a_pharmacist",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="membership_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        where = f" at {self.organisation.name}" if self.organisation_id else ""
        return f"{self.user.username}: {self.get_role_display()}{where}"

    @property
    def capabilities(self) -> list[str]:
        """As the header and the staff lists name them, in the reader's language."""
        return [
            label
            for flag, label in (
                (self.is_validator, pgettext("review capability", "validator")),
                (self.is_assessor, pgettext("review capability", "assessor")),
                (self.is_decider, pgettext("review capability", "decider")),
                (self.is_qualified_person, pgettext("review capability", "qualified person")),
            )
            if flag
        ]

    def clean(self) -> None:
        if self.role not in Role.values:
            return  # the role field's own validation reports it
        expected_kind = ROLE_ORGANISATION_KIND[Role(self.role)]
        organisation = self.organisation if self.organisation_id else None
        if expected_kind is None and organisation is not None:
            raise ValidationError(
                {"organisation": f"A {self.get_role_display().lower()} belongs to no organisation."}
            )
        if expected_kind is not None and (organisation is None or organisation.kind != expected_kind):
            raise ValidationError(
                {
                    "organisation": f"A {self.get_role_display().lower()} belongs to a {expected_kind.label.lower()}."
                }
            )
        if self.role != Role.REVIEWER and (self.is_validator or self.is_assessor or self.is_decider):
            raise ValidationError("Only authority reviewers validate, assess or decide.")
        if self.role != Role.PHARMACIST and self.is_qualified_person:
            raise ValidationError("Only a hospital pharmacist can be the qualified person.")


class OrganisationGroup(models.Model):
    """The auth Group through which an organisation's members of one role, or all its staff
    (every role but patient), are granted object permissions. Kept in step with memberships by
    accounts.services."""

    STAFF = ""

    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, primary_key=True, related_name="organisation_group"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="groups")
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "role"], name="one_group_per_organisation_role")
        ]

    def __str__(self) -> str:
        return self.group.name


class OrganisationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


class OrganisationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)
