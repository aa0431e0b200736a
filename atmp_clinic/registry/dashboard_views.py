"""The dashboard page and its two images (SPEC §6). Whoever has no dashboard gets 404, as for any
page that is not theirs; the figures come from registry.dashboards, the drawing from
registry.charts."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import dashboards

# Images are per user and per day; a reload within minutes need not redraw them.
IMAGE_MAX_AGE = 300


def _scope_or_404(request):
    plans = dashboards.dashboard_scope(user=request.user)
    if plans is None:
        raise Http404
    return plans


def _png(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    # The figures are a restricted audience's data: no shared cache may keep them.
    patch_cache_control(response, private=True, max_age=IMAGE_MAX_AGE)
    return response


@require_GET
@login_required
def dashboard(request):
    kept = dashboards.kept_dashboard(user=request.user, today=timezone.localdate())
    if kept is None:
        raise Http404
    return render(
        request,
        "registry/dashboard.html",
        {
            "figures": kept.figures,
            "as_of": kept.as_of,
            "kept_minutes": dashboards.FIGURES_KEPT_FOR.seconds // 60,
        },
    )


@require_GET
@login_required
def survival_png(request):
    with dashboards.SCIENTIFIC_IMPORTS:
        from .charts import kaplan_meier_png

    plans = _scope_or_404(request)
    return _png(kaplan_meier_png(*dashboards.survival_data(plans, timezone.localdate())))


@require_GET
@login_required
def adverse_events_png(request):
    with dashboards.SCIENTIFIC_IMPORTS:
        from .charts import bar_chart_png

    summary = dashboards.adverse_events_by_grade(_scope_or_404(request))
    return _png(
        bar_chart_png(
            [_("Grade %(grade)s") % {"grade": row.grade} for row in summary.grades],
            [row.events for row in summary.grades],
            _("Adverse events by grade"),
            unit=_("Adverse events"),
        )
    )
