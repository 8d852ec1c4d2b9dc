"""消息中心: the signed-in user's inbox, opening a message, marking messages read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from policywindow.core.access import authenticated
from policywindow.core.errors import NotFound

from . import selectors, services
from .models import Notification

PAGE_SIZE = 20


@authenticated
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(selectors.inbox(request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(request.user),
        "querystring": "show=unread" if unread_only else "",
    }
    return render(request, "notifications/inbox.html", context)


@authenticated
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the message read and go where it points; a link that is not ours goes nowhere."""
    notification = _mark_read(request, pk)
    if notification.link and services.is_internal_link(notification.link):
        return HttpResponseRedirect(notification.link)
    return redirect("notifications:inbox")


@require_POST
@authenticated
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    _mark_read(request, pk)
    return _back_to_inbox(request)


@require_POST
@authenticated
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(request.user)
    if count:
        messages.success(request, f"已将 {count} 条消息标为已读")
    else:
        messages.info(request, "没有未读消息")
    return _back_to_inbox(request)


def _mark_read(request: HttpRequest, pk: int) -> Notification:
    try:
        return services.mark_read(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _back_to_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox with the filter and page the form was posted from."""
    query = {key: request.POST[key] for key in ("show", "page") if request.POST.get(key)}
    url = reverse("notifications:inbox")
    return redirect(f"{url}?{urlencode(query)}" if query else url)
