"""Every action the code writes to the audit trail has a label the trail can translate; the stored
action stays the code."""

import ast
from pathlib import Path

from django.conf import settings
from django.utils import translation

from atmp_clinic.audit.selectors import ACTION_LABELS, action_label, actions_named
from atmp_clinic.exemptions.models import AssessmentKind, State
from atmp_clinic.manufacturing.models import Batch

SOURCE = Path(settings.BASE_DIR) / "atmp_clinic"

# The actions written from a value rather than a literal, each with what makes it (checked below, so a
# new such site must be added here and to ACTION_LABELS).
COMPUTED = {
    ("exemptions/services.py", "f'{kind}_assessment_recorded'"): {
        f"{kind}_assessment_recorded" for kind in AssessmentKind.values
    },
    ("exemptions/services.py", "to.value"): {State.WITHDRAWN, State.SUSPENDED, State.REVOKED},
    ("manufacturing/services.py", "batch.status"): {
        Batch.Status.RELEASED,
        Batch.Status.EXCEPTIONALLY_RELEASED,
    },
}
# The helpers that pass their caller's action on: the callers' literals are found at the call.
PASSED_ON = {("audit/services.py", "action"), ("exemptions/services.py", "action")}


def written_actions() -> tuple[set[str], set[tuple[str, str]]]:
    """The string literals given as `action=` anywhere under atmp_clinic (both branches of a
    conditional included), and the computed values, by file, that are not literals."""
    literals, computed = set(), set()
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.keyword) or node.arg != "action":
                continue
            found = {
                n.value
                for n in ast.walk(node.value)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
            if isinstance(node.value, ast.JoinedStr) or not found:
                computed.add((path.relative_to(SOURCE).as_posix(), ast.unparse(node.value)))
            else:
                literals |= found
    return literals, computed


def test_every_action_written_has_a_label():
    literals, _computed = written_actions()
    assert len(literals) > 40
    assert not literals - set(ACTION_LABELS), "add these to audit.selectors.ACTION_LABELS"


def test_every_computed_action_is_known_and_labelled():
    _literals, computed = written_actions()
    assert computed - PASSED_ON == set(COMPUTED), "a new computed action: list it in COMPUTED"
    made = set().union(*COMPUTED.values())
    assert not made - set(ACTION_LABELS)


def test_an_action_no_longer_written_is_named_from_its_code():
    assert action_label("consent_recorded") == "Consent recorded"


def test_the_label_follows_the_active_language():
    with translation.override("fr"):
        assert action_label("visit_recorded") == "Visite enregistrée"


def test_the_search_takes_the_label_in_the_readers_language_and_in_english_and_the_code():
    with translation.override("de"):
        assert "visit_recorded" in actions_named("visite erfasst")
        assert "visit_recorded" in actions_named("Visit recorded")
        assert "co_signed" in actions_named("co signed")
