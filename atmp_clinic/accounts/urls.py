from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Where Django's i18n URLs put it, under the same name, so {% url 'set_language' %} works as documented.
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation-detail"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", views.second_factor, name="second-factor"),
    path("accounts/two-factor/verify/", views.second_factor_verify, name="second-factor-verify"),
    path("accounts/two-factor/setup/", views.second_factor_setup, name="second-factor-setup"),
    path(
        "accounts/two-factor/recovery-codes/",
        views.second_factor_recovery_codes,
        name="second-factor-recovery-codes",
    ),
    path("accounts/two-factor/remove/", views.second_factor_remove, name="second-factor-remove"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
