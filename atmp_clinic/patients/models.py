"""Pseudonymous patients. Their identity and contact data live apart, in PatientIdentity, encrypted
at rest; everything else in the platform knows a patient only by the pseudonymous code."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField, EncryptedEmailField
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from atmp_clinic.accounts.models import Organisation, User


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    GERMAN = "de", "Deutsch"
    SPANISH = "es", "Español"
    FRENCH = "fr", "Français"


# Crockford's base-32 alphabet: no I, L, O or U, so codes survive being read aloud and copied by hand.
PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PSEUDONYM_PATTERN = r"^P-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"


class Patient(models.Model):
    hospital = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="patients", limit_choices_to={"kind": "hospital"}
    )
    pseudonym = models.CharField(
        "pseudonymous code",
        max_length=11,
        validators=[RegexValidator(PSEUDONYM_PATTERN, "A pseudonymous code looks like P-7K3Q-9XF2.")],
        help_text=_("Given by the platform; the only name the patient has outside their hospital."),
    )
    year_of_birth = models.PositiveSmallIntegerField(validators=[MinValueValidator(1900)])
    sex = models.CharField(max_length=10, choices=Sex.choices)
    date_of_death = models.DateField(null=True, blank=True)
    user = models.OneToOneField(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
        help_text=_("The patient's own login, for their visits and reminders."),
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["hospital", "pseudonym"]
        permissions = [("view_identity", "Can see the patient's identity and contact data")]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "pseudonym"], name="pseudonym_unique_in_hospital"),
            models.CheckConstraint(condition=Q(year_of_birth__gte=1900), name="year_of_birth_plausible"),
        ]

    def __str__(self) -> str:
        return self.pseudonym

    def clean(self) -> None:
        this_year = timezone.localdate().year
        if self.year_of_birth and self.year_of_birth > this_year:
            raise ValidationError({"year_of_birth": "The year of birth cannot be in the future."})
        if self.date_of_death:
            if self.date_of_death > timezone.localdate():
                raise ValidationError({"date_of_death": "The date of death cannot be in the future."})
            if self.year_of_birth and self.date_of_death.year < self.year_of_birth:
                raise ValidationError(
                    {"date_of_death": "The date of death cannot be before the year of birth."}
                )


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Choose a time zone such as Europe/Amsterdam.")


class PatientIdentity(models.Model):
    """Who the patient is and how to reach them; every field encrypted at rest."""

    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="identity", primary_key=True
    )
    given_name = EncryptedCharField(max_length=100)
    family_name = EncryptedCharField(max_length=100)
    email = EncryptedEmailField(max_length=254, null=True, blank=True)
    phone = EncryptedCharField(
        max_length=20,
        null=True,
        blank=True,
        validators=[
            RegexValidator(
                r"^\+[1-9][0-9]{6,14}$", "Write the number in international form, e.g. +31612345678."
            )
        ],
    )
    preferred_language = EncryptedCharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    time_zone = EncryptedCharField(max_length=64, default="Europe/Amsterdam", validators=[validate_time_zone])

    class Meta:
        verbose_name_plural = "patient identities"

    def __str__(self) -> str:
        return f"identity of {self.patient_id}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")
    REGISTRY = "registry", _("Registry participation")
    REMINDER_EMAIL = "reminder_email", _("Reminders by email")
    REMINDER_SMS = "reminder_sms", _("Reminders by SMS")


class Consent(models.Model):
    """A consent given on a date; withdrawn by dating its withdrawal, never by deleting it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    given_on = models.DateField()
    withdrawn_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    withdrawal_recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["patient", "kind", "-given_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(withdrawn_on__isnull=True),
                name="one_active_consent_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("given_on")),
                name="consent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.get_kind_display()} from {self.given_on}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


class PatientUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)
