"""岗位管理: list with search, create, edit, enable and disable."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission

from ..forms_config import PostForm, submitted
from ..models import Post, Status
from ..services import config as services

PAGE_SIZE = 20


@permission("system:post:list")
def post_list(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    posts = Post.objects.annotate(user_count=Count("users")).order_by("order", "id")
    if q:
        posts = posts.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if status in Status.values:
        posts = posts.filter(status=status)
    page = Paginator(posts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": request.GET,
        "statuses": Status.choices,
        "querystring": query.urlencode(),
    }
    return render(request, "system/post_list.html", context)


def _edit(request, post: Post):
    initial = model_to_dict(post, fields=list(PostForm.base_fields))
    form = PostForm(request.POST or None, initial=initial)
    target = post.name if post.pk else ""  # shown in the title even if a save fails
    if submitted(request, form, services.save_post, request.user, post):
        messages.success(request, f"已保存岗位 {post.name}")
        return redirect("system:post_list")
    return render(request, "system/post_form.html", {"form": form, "target": target})


@permission("system:post:create")
def post_create(request):
    return _edit(request, Post())


@permission("system:post:update")
def post_update(request, pk: int):
    return _edit(request, get_object_or_404(Post, pk=pk))


@require_POST
@permission("system:post:update")
def post_toggle(request, pk: int):
    post = get_object_or_404(Post, pk=pk)
    enable = post.status != Status.ENABLED
    services.set_status(request.user, post, Status.ENABLED if enable else Status.DISABLED)
    messages.success(request, f"已{'启用' if enable else '停用'}岗位 {post.name}")
    return redirect("system:post_list")


urlpatterns = [
    path("system/posts/", post_list, name="post_list"),
    path("system/posts/new/", post_create, name="post_create"),
    path("system/posts/<int:pk>/edit/", post_update, name="post_update"),
    path("system/posts/<int:pk>/toggle/", post_toggle, name="post_toggle"),
]
