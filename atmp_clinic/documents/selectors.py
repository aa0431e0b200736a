"""Reads of issued documents."""

import hashlib
from collections.abc import Iterable

from .models import IssuedDocument


def issued_with_hash(chunks: Iterable[bytes]) -> tuple[str, list[IssuedDocument]]:
    """The SHA-256 of a file's bytes and every issue of a document with exactly those bytes."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    sha256 = digest.hexdigest()
    return sha256, list(
        IssuedDocument.objects.filter(sha256=sha256).select_related("issued_by", "content_type")
    )
