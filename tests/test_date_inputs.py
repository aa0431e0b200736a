"""Every date is typed into the browser's own date picker, which works without JavaScript: a new
form with a date field and a plain text box would fail here."""

import importlib
import inspect

import pytest
from django import forms
from django.apps import apps

from atmp_clinic.registry.forms import OUTCOME_FIELDS

# The input type each kind of field must render, for the browser to offer its picker.
PICKER = {forms.DateTimeField: "datetime-local", forms.DateField: "date"}


def _project_forms() -> list[type[forms.BaseForm]]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("atmp_clinic."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError:
            continue
        found += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__
        ]
    return found


def _fields() -> list[tuple[str, forms.Field]]:
    declared = [(f"{form.__module__}.{form.__name__}.{name}", field)
                for form in _project_forms() for name, field in form.base_fields.items()]  # fmt: skip
    # The outcome form adds its fields per visit, from these factories.
    built = [(f"registry OUTCOME_FIELDS[{name}]", make()) for name, make in OUTCOME_FIELDS.items()]
    return declared + built


def _expected_type(field: forms.Field) -> str | None:
    for kind, input_type in PICKER.items():
        if isinstance(field, kind):
            return input_type
    return None


def test_the_walk_finds_the_date_fields_it_checks():
    checked = [name for name, field in _fields() if _expected_type(field)]
    assert any("VisitRecordForm.performed_on" in name for name in checked)
    assert any("administered_at" in name for name in checked)


@pytest.mark.parametrize(("name", "field"), [(n, f) for n, f in _fields() if _expected_type(f)])
def test_every_date_field_uses_the_browsers_picker(name, field):
    assert field.widget.input_type == _expected_type(field), name
