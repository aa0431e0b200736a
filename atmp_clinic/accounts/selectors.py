"""Reads, with their permission filters. Every list or detail a user sees goes through
`visible_to` (or a selector built on it), never through `Model.objects.all()` in a view.

The pattern, chosen for tables that grow to millions of rows:
- a permission-checked model declares django-guardian's *direct* foreign-key permission models
  (`<Model>UserObjectPermission` / `<Model>GroupObjectPermission`), so a grant is a row with an
  indexed integer foreign key instead of guardian's generic (content type, text object id) pair;
- grants go to organisation groups (accounts.OrganisationGroup); per-user grants are the exception;
- lists are filtered with one `EXISTS` subquery per grant table, not with guardian's
  `get_objects_for_user`, and model-level ("global") permissions never widen what a user sees.
"""

from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from .models import Membership, Organisation, Role, User

M = TypeVar("M", bound=Model)


def _direct_permission_models(model: type[Model]) -> tuple[type[Model], type[Model]]:
    user_model = get_user_obj_perms_model(model)
    group_model = get_group_obj_perms_model(model)
    if user_model is UserObjectPermission or group_model is GroupObjectPermission:
        raise ImproperlyConfigured(
            f"{model._meta.label} needs direct foreign-key permission models "
            f"({model.__name__}UserObjectPermission and {model.__name__}GroupObjectPermission)"
        )
    return user_model, group_model


def _codename(opts, perm: str) -> str:
    return perm if "_" in perm else f"{perm}_{opts.model_name}"


def _grants(*, user: User, model: type[Model], perm: str) -> tuple[QuerySet, QuerySet]:
    """The user's own grants and their groups' grants of `perm` ("view", "change", … or a full
    codename) on objects of `model`."""
    opts = model._meta
    user_model, group_model = _direct_permission_models(model)
    permission_filter = {
        "permission__codename": _codename(opts, perm),
        "permission__content_type__app_label": opts.app_label,
        "permission__content_type__model": opts.model_name,
    }
    return (
        user_model.objects.filter(user=user, **permission_filter),
        group_model.objects.filter(group__user=user, **permission_filter),
    )


def visible_to(*, user: User | AnonymousUser, queryset: QuerySet[M], perm: str = "view") -> QuerySet[M]:
    """The objects of `queryset` on which `user` holds the object permission `perm`
    ("view", "change", … or a full codename), granted to them or to one of their groups."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    by_user, by_group = _grants(user=user, model=queryset.model, perm=perm)
    return queryset.filter(
        Exists(by_user.filter(content_object=OuterRef("pk")))
        | Exists(by_group.filter(content_object=OuterRef("pk")))
    )


def granted_ids(*, user: User | AnonymousUser, model: type[Model], perm: str = "view") -> RawSQL | QuerySet:
    """The primary keys of the `model` objects on which `user` holds `perm` (as `visible_to`), as a
    subquery for another model's filter, e.g. plans whose patient the user sees.

    The ids of the two grant tables, found from the user's grants through their indexes. As
    `visible_to`'s EXISTS(…) OR EXISTS(…) inside another filter, the planner tested every row of the
    table instead (bench/worklists.py: the clinician's visible plans, 57 ms). Written as SQL rather
    than built from querysets: the clinician's worklist reads its plans through two of these, and
    building them (the permission by name through its content type, the user's groups) cost more
    Python than the query took on the server (bench/worklists.py: 4.8 → 1.4 ms). The permission is
    still found by its name within the statement, so no id is kept from one request to the next."""
    if not user.is_authenticated or not user.is_active:
        return model.objects.none().values("pk")
    opts = model._meta
    user_model, group_model = _direct_permission_models(model)
    # Only table names from the models' metadata are written into the text; every value is a parameter.
    permission = (
        f"SELECT p.id FROM {Permission._meta.db_table} p INNER JOIN {ContentType._meta.db_table} t"  # noqa: S608  # nosec B608
        " ON p.content_type_id = t.id WHERE p.codename = %s AND t.app_label = %s AND t.model = %s"
    )
    permission_params = [_codename(opts, perm), opts.app_label, opts.model_name]
    return RawSQL(  # noqa: S611  # nosec B611
        f"SELECT content_object_id FROM {user_model._meta.db_table} WHERE user_id = %s"  # noqa: S608  # nosec B608
        f" AND permission_id IN ({permission})"
        f" UNION ALL SELECT content_object_id FROM {group_model._meta.db_table} WHERE group_id IN"
        f" (SELECT group_id FROM {User.groups.through._meta.db_table} WHERE user_id = %s)"
        f" AND permission_id IN ({permission})",
        [user.pk, *permission_params, user.pk, *permission_params],
    )


def get_visible_or_404(
    *, user: User | AnonymousUser, queryset: QuerySet[M], perm: str = "view", **lookup
) -> M:
    """One object the user may see; 404 whether it does not exist or is not theirs to see."""
    return get_object_or_404(visible_to(user=user, queryset=queryset, perm=perm), **lookup)


def active_membership(*, user: User | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("organisation").filter(user=user, ended_at__isnull=True).first()


def has_role_in(*, user: User | AnonymousUser, organisation: Organisation, roles: set[str]) -> bool:
    """Whether the user's active membership is one of `roles` in `organisation`."""
    membership = active_membership(user=user)
    return bool(membership) and membership.role in roles and membership.organisation_id == organisation.pk


def national_authority(*, country: str) -> Organisation | None:
    return Organisation.objects.filter(
        kind=Organisation.Kind.AUTHORITY, country=country, is_active=True
    ).first()


def organisation_staff(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation, ended_at__isnull=True, user__is_active=True)
        .exclude(role=Role.PATIENT)
        .select_related("user")
        .order_by("role", "user__last_name", "user__first_name")
    )


def second_factor_required(*, user: User, membership: Membership | None = None) -> bool:
    """Whether the user's role (settings.SECOND_FACTOR_ROLES) or Django staff status obliges them to
    log in with a second factor. `membership`: their active one, when the caller has it already."""
    if user.is_staff or user.is_superuser:
        return True
    membership = membership or active_membership(user=user)
    return bool(membership) and membership.role in settings.SECOND_FACTOR_ROLES


def authenticator_of(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have set one up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
