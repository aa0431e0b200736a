from django.urls import path

from . import views

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("new/", views.product_create, name="product-create"),
    path("<int:pk>/", views.product_detail, name="product-detail"),
    path("<int:pk>/release-tests/", views.release_test_create, name="release-test-create"),
]
