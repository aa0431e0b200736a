from datetime import timedelta

import factory

from atmp_clinic.accounts import services
from atmp_clinic.accounts.models import Organisation, Role, User


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Hospital {n}")
    kind = Organisation.Kind.HOSPITAL
    country = "NL"
    manufacturing_authorisation_number = factory.Sequence(lambda n: f"MIA-{n:05d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.organisation_save(organisation=model_class(*args, **kwargs))


class AuthorityFactory(HospitalFactory):
    name = factory.Sequence(lambda n: f"Authority {n}")
    kind = Organisation.Kind.AUTHORITY
    # Countries without a demo authority (NL and DE have one; a country has at most one).
    country = factory.Iterator(["BE", "FR", "IT", "ES", "AT", "PT", "SE", "FI"])
    manufacturing_authorisation_number = ""
    validation_days = 14
    assessment_days = 28
    information_response_days = 12
    permit_validity_days = 365
    expedited_report_deadline = timedelta(days=15)
    expedited_report_deadline_fatal = timedelta(days=7)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    password = factory.django.Password("correct-horse-2026")


def member(*, role: str, organisation: Organisation | None = None, **capabilities) -> User:
    user = UserFactory()
    services.membership_create(user=user, role=role, organisation=organisation, **capabilities)
    return user


__all__ = ["AuthorityFactory", "HospitalFactory", "Role", "UserFactory", "member"]
