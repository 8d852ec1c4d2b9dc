"""个人中心 › 动态口令: bind an authenticator when the second factor is optional, and make new
recovery codes (after a current code, so a borrowed session cannot mint them)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from policywindow.core.access import authenticated

from ..auth import verify_second_factor
from ..forms import TotpForm
from ..selectors import unused_recovery_codes
from ..services import users as services
from .auth import enrolment_context


@authenticated
def account_totp(request):
    user = request.user
    bound = user.totp_confirmed
    if not bound and not user.totp_secret:
        services.start_totp_enrolment(user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = verify_second_factor(
            request, user, form.cleaned_data["code"], accept_recovery_code=False
        )
        if not outcome.ok:
            form.add_error("code", outcome.message)
        else:
            codes = services.issue_recovery_codes(user) if bound else services.confirm_totp(user)
            return render(request, "system/recovery_codes.html", {"codes": codes})
    context = {"form": form, "bound": bound}
    if bound:
        context["codes_left"] = unused_recovery_codes(user)
    else:
        context.update(enrolment_context(user))
    return render(request, "system/account_totp.html", context)


urlpatterns = [
    path("account/totp/", account_totp, name="account_totp"),
]
