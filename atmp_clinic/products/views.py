from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from atmp_clinic.accounts.models import Role
from atmp_clinic.accounts.selectors import get_visible_or_404
from atmp_clinic.accounts.views import organisation_for_roles_or_404

from . import services
from .classification import QUESTIONS, classify
from .forms import ClassificationForm, ProductForm, ReleaseTestForm
from .models import Product
from .selectors import missing_release_tests, products_visible_to


@login_required
def product_list(request):
    return render(
        request,
        "products/product_list.html",
        {
            "products": products_visible_to(user=request.user),
            "can_add": bool(request.membership) and request.membership.role == Role.PHARMACIST,
        },
    )


@login_required
def product_create(request):
    """Two steps on one page: the assistant's questions, then the product with the proposed class."""
    hospital = organisation_for_roles_or_404(request, {Role.PHARMACIST})
    if request.method != "POST":
        return render(request, "products/product_create.html", {"classification_form": ClassificationForm()})

    classification_form = ClassificationForm(request.POST)
    if not classification_form.is_valid():
        return render(request, "products/product_create.html", {"classification_form": classification_form})
    answers = {name: classification_form.cleaned_data[name] for name in QUESTIONS}
    proposal = classify(answers)

    if request.POST.get("step") != "create":
        product_form = ProductForm(initial={"atmp_class": proposal.atmp_class})
    else:
        product_form = ProductForm(request.POST)
        if product_form.is_valid():
            try:
                product = services.product_create(
                    actor=request.user,
                    hospital=hospital,
                    classification_answers=answers,
                    **product_form.cleaned_data,
                )
            except ValidationError as error:
                product_form.add_error(None, error)
            else:
                return redirect("product-detail", pk=product.pk)
    return render(
        request,
        "products/product_create.html",
        {"classification_form": classification_form, "proposal": proposal, "product_form": product_form},
    )


@login_required
def product_detail(request, pk: int):
    product = get_visible_or_404(
        user=request.user, queryset=Product.objects.select_related("hospital"), pk=pk
    )
    can_change = request.user.has_perm("products.change_product", product)
    return render(
        request, "products/product_detail.html", _detail_context(product, can_change, ReleaseTestForm())
    )


@login_required
@require_POST
def release_test_create(request, pk: int):
    product = get_visible_or_404(
        user=request.user, queryset=Product.objects.select_related("hospital"), perm="change", pk=pk
    )
    form = ReleaseTestForm(request.POST)
    if form.is_valid():
        try:
            services.release_test_add(actor=request.user, product=product, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("product-detail", pk=product.pk)
    return render(request, "products/product_detail.html", _detail_context(product, True, form), status=400)


def _detail_context(product: Product, can_change: bool, release_test_form: ReleaseTestForm) -> dict:
    return {
        "product": product,
        "release_tests": product.release_tests.all(),
        "missing": missing_release_tests(product=product),
        "can_change": can_change,
        "release_test_form": release_test_form,
        "answers": [
            (question, product.classification_answers.get(name, False))
            for name, question in QUESTIONS.items()
        ],
    }
