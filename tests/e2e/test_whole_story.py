"""Issue 10: the whole story in a real browser, once in English (the Dutch demo) and once in German
(the German demo, each person choosing Deutsch with the switcher in the login page's header). A
pharmacist classifies a new product and files a request for a patient; the validator, two assessors
and a decider review it, with a request for information answered between the assessments; the
pharmacist records the collection, the batch, its results and the release; the clinician gives it
and the plan appears; the reminders reach a real SMTP server with their .ics; the patient sees the
visits; the clinician records the Day 7 visit with a grade 2 CRS and the Month 3 visit with an
EQ-5D-5L; the analyst exports CSV and FHIR and sees the dashboard; the authority downloads the
annual report. Every step is its own user in the browser; the ORM only reads, for assertions. The
server's clock moves with time-machine (the live server runs in this process), so each person logs
in on the day they act. A screenshot of each step goes to test-artifacts/whole-story-<language>/;
with SCREENSHOTS_DIR set, the English run also writes the README's screenshots there."""

import json
import os
import subprocess
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import dateformat, timezone, translation
from django.utils.formats import date_format

from atmp_clinic.accounts.demo import DEMO_PASSWORD
from atmp_clinic.accounts.models import User
from atmp_clinic.exemptions.models import CRITERIA, ExemptionRequest
from atmp_clinic.followup import tasks as followup_tasks
from atmp_clinic.followup.models import FollowUpPlan, visit_label_shown
from atmp_clinic.followup.reminder_texts import contact_sentence, localised_date
from atmp_clinic.patients.models import Patient
from atmp_clinic.products.models import Product
from atmp_clinic.registry.models import AdverseEvent, OutcomeRecord
from tests.e2e.conftest import Person, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Who plays each part: the Dutch demo in English, the German demo in German.
CAST = {
    "en": dict(pharmacist="pharmacist", clinician="clinician", patient="patient", validator="reviewer",
               assessors=("assessor", "assessor2"), decider="decider", country="NL"),
    "de": dict(pharmacist="pharmacist_b", clinician="clinician_b", patient="patient_b", validator="reviewer_b",
               assessors=("assessor_b", "assessor2_b"), decider="decider_b", country="DE"),
}  # fmt: skip

# The classification assistant's questions as a pharmacist answers them for CAR-T cells.
CAR_T_ANSWERS = {
    "Does the active substance contain or consist of a recombinant nucleic acid, used in or given to people to "
    "regulate, repair, replace, add or delete a genetic sequence?": True,
    "Is its therapeutic, prophylactic or diagnostic effect directly linked to that nucleic acid sequence, or to "
    "the product of its expression?": True,
    "Is it a vaccine against an infectious disease?": False,
    "Does it contain or consist of human or animal cells or tissues?": True,
    "Have the cells or tissues been substantially manipulated, so that their biological characteristics, "
    "physiological functions or structural properties changed (for example expanded in culture, genetically "
    "modified, differentiated or activated)? Cutting, grinding, centrifuging, filtering, freezing and similar "
    "steps are not substantial.": True,
    "Are the cells or tissues meant to serve a different essential function in the patient than in the donor "
    "(non-homologous use)?": True,
    "Is it meant to regenerate, repair or replace a human tissue?": False,
    "Does it incorporate, as an integral part, one or more medical devices or active implantable medical devices "
    "(for example a scaffold or matrix)?": False,
}

# The release specification the pharmacist writes (kind, name, lower, upper, unit, expected result) and
# the result each test gives, every one within it.
RELEASE_TESTS = [
    ("Identity", "CAR expression (flow cytometry)", "15", "", "%", "", ("Value", "42")),
    ("Viability", "Viability (7-AAD flow cytometry)", "70", "", "%", "", ("Value", "88")),
    ("Potency", "IFN-γ release against CD19+ cells", "500", "", "pg/mL", "", ("Value", "1200")),
    ("Sterility", "Sterility (Ph. Eur. 2.6.27)", "", "", "", "No growth", ("Observation", "No growth")),
    ("Endotoxin", "Bacterial endotoxins (LAL)", "", "0.5", "EU/mL", "", ("Value", "0.1")),
    ("Mycoplasma", "Mycoplasma (NAT)", "", "", "", "Not detected", ("Observation", "Not detected")),
    ("Vector copy number", "Vector copy number (ddPCR)", "", "5", "copies/cell", "", ("Value", "1.8")),
]

# EQ-5D-5L at Month 3, as the patient ticked it (its wording is EuroQol's, licensed in English).
EQ5D = {
    "EQ-5D-5L: Mobility": "1 — I have no problems in walking about",
    "EQ-5D-5L: Self-care": "1 — I have no problems washing or dressing myself",
    "EQ-5D-5L: Usual activities (e.g. work, study, housework, family or leisure activities)":
        "2 — I have slight problems doing my usual activities",
    "EQ-5D-5L: Pain / discomfort": "2 — I have slight pain or discomfort",
    "EQ-5D-5L: Anxiety / depression": "1 — I am not anxious or depressed",
}  # fmt: skip


class Story:
    """The cast in one language, the numbered screenshots of the steps, and the README's pictures."""

    def __init__(self, browser, site: str, language: str):
        self.browser, self.site, self.language = browser, site, language
        self.cast = CAST[language]
        self.steps = 0
        readme = os.environ.get("SCREENSHOTS_DIR")
        self.readme_dir = Path(readme) if readme and language == "en" else None

    def t(self, text: str) -> str:
        with translation.override(self.language):
            return translation.gettext(text)

    def visit(self, label: str) -> str:
        """A visit's name as the pages show it in the story's language ("Day 7" reads "Tag 7")."""
        with translation.override(self.language):
            return visit_label_shown(label)

    def person(self, username: str) -> Person:
        return Person(self.browser, self.site, username, language=self.language)

    def shot(self, page, step: str, readme: str = "") -> None:
        self.steps += 1
        screenshot(page, f"whole-story-{self.language}/{self.steps:02d}-{step}")
        if self.readme_dir and readme:
            readme_picture(page, self.readme_dir / f"{readme}.png")


def readme_picture(page, path: Path) -> None:
    """What the window shows, 1280 pixels wide, in 64 colours: small enough to commit."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def long_date(day, language: str) -> str:
    """A date as the patient's page writes it in `language`."""
    with translation.override(language):
        return dateformat.format(day, translation.gettext("l j F Y"))


def short_date(day, language: str) -> str:
    with translation.override(language):
        return date_format(day, "SHORT_DATE_FORMAT")


def download(page, click) -> bytes:
    with page.expect_download() as started:
        click()
    return Path(started.value.path()).read_bytes()


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_whole_story_each_step_its_own_user(site, browser, smtp_server, language):
    story = Story(browser, site, language)
    cast, t = story.cast, story.t
    patient = Patient.objects.get(user__username=cast["patient"])
    product_name = f"CAR-T story {language.upper()}"
    physician = User.objects.get(username=cast["clinician"])
    # Tomorrow at 08:00 UTC, whenever the suite runs: the reminders go out in the patients' morning.
    day_0 = timezone.localdate() + timedelta(days=1)

    with time_machine.travel(datetime.combine(day_0, time(8), tzinfo=UTC), tick=True) as traveller:
        # --- The pharmacist classifies the product and writes its release specification -----------
        pharmacist = story.person(cast["pharmacist"])
        page = pharmacist.page
        page.get_by_role("heading", level=1, name=t("Pharmacist worklist")).wait_for()
        story.shot(page, "pharmacist-worklist", readme="pharmacist-worklist")
        page.get_by_role("navigation").get_by_role("link", name=t("Products")).click()
        page.get_by_role("link", name=t("Add a product")).click()
        for question, answer in CAR_T_ANSWERS.items():
            page.get_by_role("group", name=t(question)).get_by_label(t("Yes" if answer else "No")).check()
        page.get_by_role("button", name=t("Propose a class")).click()
        proposed = t("Proposed class: %(label)s") % {"label": t("Gene therapy medicinal product (GTMP)")}
        page.get_by_role("heading", name=proposed).wait_for()
        story.shot(page, "classification-proposed")
        page.get_by_label(t("Name"), exact=True).fill(product_name)
        page.get_by_label(t("Origin"), exact=True).select_option(
            label=t("Autologous (the patient's own cells)")
        )
        page.get_by_label(t("Vector kind"), exact=True).select_option(label=t("Lentiviral (integrating)"))
        page.get_by_label(t("Mechanism of action")).fill("Anti-CD19 CAR T cells kill CD19-positive B cells.")
        page.get_by_role("button", name=t("Add the product")).click()
        page.get_by_role("heading", level=1, name=product_name).wait_for()
        for kind, name, lower, upper, unit, expected, _result in RELEASE_TESTS:
            form = page.locator("form", has=page.get_by_role("button", name=t("Add the test")))
            form.get_by_label(t("Kind"), exact=True).select_option(label=t(kind))
            form.get_by_label(t("Name"), exact=True).fill(name)
            form.get_by_label(t("Lower limit")).fill(lower)
            form.get_by_label(t("Upper limit")).fill(upper)
            form.get_by_label(t("Unit"), exact=True).fill(unit)
            form.get_by_label(t("Expected result")).fill(expected)
            form.get_by_role("button", name=t("Add the test")).click()
            page.get_by_role("cell", name=name, exact=True).wait_for()
        assert page.get_by_text(t("The specification lacks:")).count() == 0
        story.shot(page, "product-specified")

        # --- ... and files the request for the patient --------------------------------------------
        page.get_by_role("link", name=t("Worklist")).click()
        page.get_by_role("link", name=t("New exemption request")).click()
        page.get_by_label(t("Patient"), exact=True).select_option(label=patient.pseudonym)
        page.get_by_label(t("Product"), exact=True).select_option(label=product_name)
        page.get_by_label(t("Indication (ICD-10 code)"), exact=True).fill("C83.3")
        page.get_by_label(t("Indication"), exact=True).fill("Diffuse large B-cell lymphoma, second relapse")
        page.get_by_label(t("Justification of the unmet need")).fill("No authorised CAR-T is available.")
        page.locator("input[name=not_otherwise_available]").check()
        for label in CRITERIA.values():
            page.get_by_label(t(label), exact=True).check()
        page.get_by_label(t("Dose"), exact=True).fill("1 × 10⁶ CAR+ T cells/kg")
        page.get_by_label(t("Route"), exact=True).select_option(label=t("Intravenous infusion"))
        page.get_by_label(t("Frequency"), exact=True).fill("Single infusion")
        page.get_by_label(t("Batches expected"), exact=True).fill("1")
        page.get_by_label(t("Planned administration date")).fill((day_0 + timedelta(days=30)).isoformat())
        page.get_by_label(t("Manufacturing site"), exact=True).fill("GMP facility of the hospital")
        page.get_by_label(t("Qualified person for batch release")).fill("The hospital's qualified person")
        page.get_by_label(t("Quality summary"), exact=True).fill("Closed-system lentiviral transduction.")
        page.get_by_label(t("Pharmacovigilance arrangements")).fill("Reactions reported within 48 hours.")
        page.get_by_label(t("Proposed follow-up plan")).fill("15 years, integrating-vector template.")
        page.get_by_label(t("Responsible physician"), exact=True).select_option(
            label=physician.get_full_name()
        )
        page.get_by_role("button", name=t("Save the draft")).click()
        page.get_by_text(
            t("Nothing is missing. The responsible physician signs next, then the pharmacist submits.")
        ).wait_for()
        story.shot(page, "request-draft")
        request = ExemptionRequest.objects.get(product__name=product_name)

        clinician = story.person(cast["clinician"])
        clinician.page.get_by_role("link", name=request.reference).click()
        clinician.take(t("Sign as responsible physician"), **{t("Password"): DEMO_PASSWORD})
        story.shot(clinician.page, "physician-signed")
        clinician.close()

        pharmacist.open(request)
        pharmacist.take(t("Submit to the authority"), **{t("Password"): DEMO_PASSWORD})
        story.shot(page, "submitted")

        # --- The authority reviews it, with a request for information in between -----------------
        validator = story.person(cast["validator"])
        queue = validator.page.get_by_role("link", name=request.reference)
        queue.wait_for()
        story.shot(validator.page, "authority-queue", readme="authority-queue")
        queue.click()
        validator.page.get_by_role("heading", name=t("Review clock")).wait_for()
        validator.take(t("Validate"))
        story.shot(validator.page, "validated", readme="request-review-clock")
        validator.close()

        quality, clinical = cast["assessors"]
        assessor = story.person(quality)
        assessor.open(request)
        assessor.take(t("Record an assessment"), **{t("Kind"): t("Quality assessment"),
                      t("Report"): "Quality adequate.", t("Recommendation"): t("Approve")})  # fmt: skip
        assessor.take(t("Ask the hospital for information"),
                      **{t("Questions"): "Please send the potency assay validation."})  # fmt: skip
        story.shot(assessor.page, "information-requested")
        assessor.close()

        pharmacist.open(request)
        pharmacist.take(
            t("Answer the authority"), **{t("Answer"): "The validation report is in our dossier."}
        )
        story.shot(page, "information-answered")

        assessor2 = story.person(clinical)
        assessor2.open(request)
        assessor2.take(t("Record an assessment"), **{t("Kind"): t("Clinical assessment"),
                       t("Report"): "Benefit likely.", t("Recommendation"): t("Approve with conditions")})  # fmt: skip
        assessor2.close()

        decider = story.person(cast["decider"])
        decider.open(request)
        decider.take(t("Decide"), **{t("Outcome"): t("Approved with conditions"),
                     t("Reasons"): "The hospital-exemption criteria are met.",
                     t("Conditions"): "Report every administration within 7 days.", t("Password"): DEMO_PASSWORD})  # fmt: skip
        decided = t("Decision: %(outcome)s") % {"outcome": t("Approved with conditions")}
        decider.page.get_by_role("heading", name=decided).wait_for()
        story.shot(decider.page, "decided")
        decider.close()

        # --- The pharmacist records collection, batch, results and release ------------------------
        pharmacist.open(request)
        page.get_by_role("link", name=t("Record a collection")).click()
        page.get_by_label(t("Donation identification sequence (SEC)")).fill(
            f"{cast['country']} 000123 G123 498 654 321"
        )
        page.get_by_label(t("Check character")).fill("H")
        page.get_by_label(t("Material")).fill("Leukapheresis")
        page.get_by_label(t("Collected at")).fill(timezone.now().strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label(t("Collection site")).fill("Apheresis unit")
        page.get_by_role("button", name=t("Record the collection")).click()
        page.get_by_text(t("Collection recorded.")).wait_for()
        page.get_by_role("link", name=t("New batch from this collection")).click()
        batch_number = f"WS-{language.upper()}-001"
        page.get_by_label(t("Batch number")).fill(batch_number)
        page.get_by_label(t("Manufactured on")).fill(timezone.localdate().isoformat())
        page.get_by_label(t("Expires on")).fill((timezone.localdate() + timedelta(days=14)).isoformat())
        page.get_by_role("button", name=t("Create the batch")).click()
        page.get_by_text(t("Batch %(number)s created.") % {"number": batch_number}).wait_for()
        for _kind, name, *_limits_and_unit, _expected, (field, typed) in RELEASE_TESTS:
            test = request.product.release_tests.get(name=name)
            choice = t("%(test)s (specification: %(specification)s)") % {
                "test": name,
                "specification": test.specification,
            }
            pharmacist.take(t("Record a result"), **{t("Test"): choice, t(field): typed})
        story.shot(page, "results-recorded")
        pharmacist.take(t("Release the batch"), **{t("Password"): DEMO_PASSWORD})
        story.shot(page, "released")
        pharmacist.close()
        batch = request.batches.get()

        # --- The clinician gives it after the bedside check, and the plan appears -----------------
        clinician = story.person(cast["clinician"])
        clinician.open(request)
        clinician.page.get_by_role("link", name=batch_number).click()
        clinician.take(
            t("Record the administration"),
            **{t("Administered at"): timezone.now().strftime("%Y-%m-%dT%H:%M"), t("Dose"): "1 × 10⁶ CAR+ T cells/kg",
               t("Patient code"): patient.pseudonym.lower(), t("Batch code"): batch_number.replace("-", " ")},
        )  # fmt: skip
        story.shot(clinician.page, "administered")
        clinician.open(request)
        clinician.page.get_by_role("link", name=t("Follow-up plan")).click()
        clinician.page.get_by_role("link", name=story.visit("Year 15")).wait_for()
        story.shot(clinician.page, "plan", readme="follow-up-plan")
        clinician.close()
        plan = FollowUpPlan.objects.get(administration__request=request)
        day_7, day_14 = plan.visits.order_by("due_on")[:2]
        month_3 = plan.visits.get(label="Month 3")

        # --- Beat's reminder sweep: the emails reach the SMTP server, in the patient's language ---
        followup_tasks.dispatch_reminders.delay()
        identity = patient.identity
        reminders = [
            message for message in smtp_server.messages
            if message["To"] == identity.email and f"visit-{day_7.pk}@" in calendar_of(message)
        ]  # fmt: skip
        assert len(reminders) == 1
        body = part_of(reminders[0], "text/plain")
        with translation.override(identity.preferred_language):
            assert localised_date(day_7.due_on) in body and contact_sentence(patient.hospital) in body
        assert identity.preferred_language == language

        # --- The patient sees the visits -----------------------------------------------------------
        patient_user = story.person(cast["patient"])
        upcoming = patient_user.page.locator(
            "section", has=patient_user.page.get_by_role("heading", name=t("Upcoming visits"))
        )
        upcoming.get_by_text(long_date(day_7.due_on, language)).wait_for()
        assert long_date(day_14.due_on, language) in upcoming.inner_text()
        story.shot(patient_user.page, "patient-visits", readme="patient-visits")
        patient_user.close()

        # --- Day 7: the clinician records the visit and a grade 2 CRS -----------------------------
        traveller.move_to(datetime.combine(day_7.due_on, time(9), tzinfo=UTC))
        clinician = story.person(cast["clinician"])
        page = clinician.page
        due = page.locator("section", has=page.get_by_role("heading", name=t("Visits due")))
        # By its address: the demo has other plans of this patient, whose visits may fall due too.
        link = due.locator("tr", has_text=patient.pseudonym).locator(f"a[href='/visits/{day_7.pk}/']")
        assert link.inner_text() == story.visit("Day 7")
        story.shot(page, "clinician-worklist", readme="clinician-worklist")
        link.click()
        clinician.take(t("Record the visit"), **{t("Date of the visit"): day_7.due_on.isoformat(),
                                                 t("Note"): "Fever from day 5, low blood pressure."})  # fmt: skip
        page.get_by_role("link", name=t("follow-up plan")).click()
        page.get_by_role("link", name=t("Record an adverse event")).click()
        page.get_by_label(t("Term")).fill("Cytokine release syndrome")
        page.get_by_label(t("Cytokine release syndrome (ASTCT)")).check()
        page.get_by_label(t("Onset")).fill((day_0 + timedelta(days=5)).isoformat())
        page.get_by_label(t("Reported at visit")).select_option(
            label=f"{story.visit('Day 7')}, {short_date(day_7.due_on, language)}"
        )
        page.get_by_label(t("Fever ≥ 38.0 °C attributable to CRS")).check()
        page.get_by_label(t("Hypotension")).check()
        page.get_by_label(t("Relatedness to the product")).select_option(label=t("Probable"))
        page.get_by_label(t("Outcome"), exact=True).select_option(label=t("Recovering"))
        page.get_by_role("button", name=t("Record the adverse event")).click()
        page.get_by_role("heading", name=t("ASTCT grading")).wait_for()
        heading = page.get_by_role("heading", level=1).inner_text()
        story.shot(page, "crs-grade-2")
        clinician.close()

        # --- Month 3: the visit with its outcome and the EQ-5D-5L ----------------------------------
        traveller.move_to(datetime.combine(month_3.due_on, time(9), tzinfo=UTC))
        clinician = story.person(cast["clinician"])
        page = clinician.page
        due = page.locator("section", has=page.get_by_role("heading", name=t("Visits due")))
        due.locator("tr", has_text=patient.pseudonym).locator(f"a[href='/visits/{month_3.pk}/']").click()
        clinician.take(t("Record the visit"), **{t("Date of the visit"): month_3.due_on.isoformat()})
        page.get_by_label(t("Vital status")).select_option(label=t("Alive"))
        page.get_by_label(t("Disease response")).select_option(label=t("Complete response (CR)"))
        for dimension, level in EQ5D.items():
            page.get_by_role("group", name=dimension).get_by_label(level).check()
        page.get_by_label(t("EQ VAS (0-100)")).fill("80")
        page.get_by_role("button", name=t("Record the outcome")).click()
        page.get_by_text(t("Health state") + " 11221").wait_for()
        story.shot(page, "month-3-eq5d5l")
        clinician.close()

        # --- The analyst exports CSV and FHIR and sees the dashboard -------------------------------
        analyst = story.person("analyst")
        page = analyst.page
        page.get_by_role("navigation").get_by_role("link", name=t("Exports")).click()
        exported = {}
        for choice in ("Visits (CSV)", "FHIR R4 resources (NDJSON)"):
            page.get_by_label(t(choice)).check()
            page.get_by_role("button", name=t("Start the export")).click()
            # On the export's own page, which refreshes itself until the file is ready.
            link = page.get_by_role("main").get_by_role("link", name=t("Download"))
            exported[choice] = download(page, link.click).decode("utf-8")
            page.get_by_role("navigation").get_by_role("link", name=t("Exports")).click()
        story.shot(page, "exports")
        page.get_by_role("navigation").get_by_role("link", name=t("Dashboard")).click()
        grades = page.locator("section", has=page.get_by_role("heading", name=t("Adverse events by grade")))
        grade_2 = grades.get_by_role("row").filter(has=page.get_by_role("rowheader", name="2", exact=True))
        grade_2_events = int(grade_2.get_by_role("cell").first.inner_text())
        story.shot(page, "dashboard", readme="analyst-dashboard")
        analyst.close()

        # --- The authority downloads the annual report ---------------------------------------------
        authority = story.person(cast["validator"])
        page = authority.page
        page.get_by_role(
            "link", name=t("Annual hospital-exemption reports of your country's hospitals")
        ).click()
        page.get_by_label(t("Hospital")).select_option(label=str(patient.hospital))
        page.get_by_label(t("Year")).select_option(label=str(day_0.year))
        page.get_by_role("button", name=t("Make the report")).click()
        # A worker builds it (in this process, at once); its page would refresh itself until then.
        page.get_by_role("heading", name=t("The report is ready")).wait_for()
        story.shot(page, "annual-report")
        report = download(page, page.get_by_role("link", name=t("Download the report (PDF)")).click)
        authority.close()

    # The product as classified, the request through every step, the chain and the plan.
    product = Product.objects.get(name=product_name)
    assert (product.atmp_class, product.vector_kind, product.release_tests.count()) == (
        "gtmp",
        "lentiviral",
        7,
    )
    request.refresh_from_db()
    assert request.state == "approved_with_conditions" and request.decision.follow_up_years == 15
    assert request.information_requests.get().answer
    batch.refresh_from_db()
    assert batch.status == "administered" and batch.administration.patient == patient
    assert (plan.starts_on, plan.duration_years) == (day_0, 15)
    # Heard in the browser: CRS graded 2 from fever and hypotension without vasopressors.
    event = AdverseEvent.objects.get(plan=plan)
    assert (event.kind, event.grade, event.visit_id, event.serious) == ("crs", 2, day_7.pk, False)
    assert t("Grade %(grade)s") % {"grade": 2} in heading and grade_2_events >= 1
    outcome = OutcomeRecord.objects.get(visit=month_3)
    assert (outcome.eq5d_usual_activities, outcome.eq5d_pain_discomfort, outcome.eq5d_vas) == (2, 2, 80)
    # The CSV: its header, and the rows of this patient's visits done, by pseudonym only.
    csv_lines = exported["Visits (CSV)"].splitlines()
    header, rows = csv_lines[0].split(","), [line for line in csv_lines if line.startswith(patient.pseudonym)]
    assert "pseudonym" in header[0] and any(day_7.due_on.isoformat() in row for row in rows)
    assert identity.family_name not in exported["Visits (CSV)"]
    # FHIR: one resource a line, with this patient's CRS among the adverse events.
    resources = [json.loads(line) for line in exported["FHIR R4 resources (NDJSON)"].splitlines() if line]
    assert all("resourceType" in resource for resource in resources)
    kinds = {resource["resourceType"] for resource in resources}
    assert {"Patient", "Procedure", "Encounter", "AdverseEvent", "Consent"} <= kinds
    (fhir_patient,) = [
        r for r in resources if r["resourceType"] == "Patient" and patient.pseudonym in json.dumps(r)
    ]
    subject = {"reference": f"Patient/{fhir_patient['id']}"}
    assert any(r["resourceType"] == "AdverseEvent" and r["subject"] == subject for r in resources)
    # The annual report names the hospital and the new product.
    text = pdf_text(report)
    assert report.startswith(b"%PDF") and patient.hospital.name in text and product_name in text


def part_of(message, content_type: str) -> str:
    """The text of the message's first part of this type, or "" without one."""
    parts = [part for part in message.walk() if part.get_content_type() == content_type]
    return (
        parts[0].get_payload(decode=True).decode(parts[0].get_content_charset() or "utf-8") if parts else ""
    )


def calendar_of(message) -> str:
    return part_of(message, "text/calendar")


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())
