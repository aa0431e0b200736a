"""Writes to the audit trail and signatures. Called inside the transaction of the change they record."""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django_otp import user_has_device

from atmp_clinic.accounts.models import User

from .models import AuditChainHead, AuditEvent, Signature

GENESIS_HASH = "0" * 64
WRONG_PASSWORD = gettext_noop("The password is not correct: the signature was not given.")
CODE_NEEDED = gettext_noop(
    "Enter the code your authenticator app shows now (or a recovery code): it is part of your signature."
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON of what is signed: the same content always hashes the same."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    fields = {
        "previous_hash": event.previous_hash,
        "occurred_at": event.occurred_at,
        "actor_id": event.actor_id,
        "content_type_id": event.content_type_id,
        "object_id": event.object_id,
        "action": event.action,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }
    return content_hash(fields)


@transaction.atomic
def record_event(
    *,
    actor: User | None,
    obj: models.Model,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(
        pk=1, defaults={"last_hash": GENESIS_HASH}
    )
    # The trail is written in one language, whatever the language of the pages of the person acting:
    # a record's name and a reason built from labels (a plan's end reason) are put into English here.
    with translation.override(settings.LANGUAGE_CODE):
        object_repr, reason = str(obj)[:200], str(reason)
    event = AuditEvent(
        actor=actor,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=object_repr,
        action=action,
        # Through JSON and back, so the hash computed now matches the one recomputed from the row.
        before=json.loads(canonical_json(before or {})),
        after=json.loads(canonical_json(after or {})),
        reason=reason,
        previous_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    event.save()
    head.last_hash = event.hash
    head.save(update_fields=["last_hash"])
    return event


def sign(
    *, signer: User, password: str, code: str = "", obj: models.Model, meaning: str, content: dict
) -> Signature:
    """A signature is given only with the signer's password entered again and, when the signer has a
    second factor, a code from it: every component at every signing (21 CFR 11.200(a)(1)), so that a
    session left open, or a password seen over a shoulder, signs nothing."""
    if not signer.is_active or not signer.check_password(password):
        raise ValidationError({"password": gettext(WRONG_PASSWORD)})
    if user_has_device(signer, confirmed=True):
        if not code.strip():
            raise ValidationError({"code": gettext(CODE_NEEDED)})
        # Imported here: accounts' services record their own events through this module.
        from atmp_clinic.accounts.services import second_factor_verify

        second_factor_verify(user=signer, code=code)
    return Signature.objects.create(
        signer=signer,
        printed_name=signer.get_full_name() or signer.username,
        meaning=meaning,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        content_hash=content_hash(content),
    )
