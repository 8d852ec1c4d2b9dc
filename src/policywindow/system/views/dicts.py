"""字典管理: dictionary types, each with a page of its items; create, edit, enable, disable."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError

from ..forms_config import DictItemForm, DictTypeForm, submitted
from ..models import DictItem, DictType, Status
from ..services import config as services


@permission("system:dict:list")
def dict_list(request):
    q = request.GET.get("q", "").strip()
    types = DictType.objects.annotate(
        item_count=Count("items"),
        enabled_count=Count("items", filter=Q(items__status=Status.ENABLED)),
    ).order_by("code")
    if q:
        types = types.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return render(request, "system/dict_list.html", {"types": types, "q": q})


@permission("system:dict:list")
def dict_items(request, pk: int):
    dict_type = get_object_or_404(DictType, pk=pk)
    items = dict_type.items.order_by("order", "id")
    return render(request, "system/dict_items.html", {"dict_type": dict_type, "items": items})


def _edit(request, form, save, obj, dict_type: DictType | None):
    """The create and edit page of a type (``dict_type`` None) or of one of its items."""
    target = str(obj) if obj.pk else ""  # shown in the title even if a save fails
    if submitted(request, form, save, request.user, obj):
        messages.success(request, f"已保存{'字典数据' if dict_type else '字典'} {obj}")
        if dict_type:
            return redirect("system:dict_items", dict_type.pk)
        return redirect("system:dict_list")
    context = {"form": form, "target": target, "dict_type": dict_type}
    return render(request, "system/dict_form.html", context)


def _type_page(request, dict_type: DictType):
    initial = model_to_dict(dict_type, fields=list(DictTypeForm.base_fields))
    form = DictTypeForm(request.POST or None, initial=initial, builtin=dict_type.builtin)
    return _edit(request, form, services.save_dict_type, dict_type, None)


def _item_page(request, item: DictItem):
    initial = model_to_dict(item, fields=list(DictItemForm.base_fields))
    form = DictItemForm(request.POST or None, initial=initial)
    return _edit(request, form, services.save_dict_item, item, item.dict_type)


@permission("system:dict:create")
def dict_create(request):
    return _type_page(request, DictType())


@permission("system:dict:update")
def dict_update(request, pk: int):
    return _type_page(request, get_object_or_404(DictType, pk=pk))


@permission("system:dict:create")
def dict_item_create(request, pk: int):
    return _item_page(request, DictItem(dict_type=get_object_or_404(DictType, pk=pk)))


@permission("system:dict:update")
def dict_item_update(request, pk: int):
    return _item_page(
        request, get_object_or_404(DictItem.objects.select_related("dict_type"), pk=pk)
    )


def _toggle(request, obj: DictType | DictItem) -> None:
    enable = obj.status != Status.ENABLED
    try:
        services.set_status(request.user, obj, Status.ENABLED if enable else Status.DISABLED)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已{'启用' if enable else '停用'} {obj}")


@require_POST
@permission("system:dict:update")
def dict_toggle(request, pk: int):
    _toggle(request, get_object_or_404(DictType, pk=pk))
    return redirect("system:dict_list")


@require_POST
@permission("system:dict:update")
def dict_item_toggle(request, pk: int):
    item = get_object_or_404(DictItem, pk=pk)
    _toggle(request, item)
    return redirect("system:dict_items", item.dict_type_id)


urlpatterns = [
    path("system/dicts/", dict_list, name="dict_list"),
    path("system/dicts/new/", dict_create, name="dict_create"),
    path("system/dicts/<int:pk>/", dict_items, name="dict_items"),
    path("system/dicts/<int:pk>/edit/", dict_update, name="dict_update"),
    path("system/dicts/<int:pk>/toggle/", dict_toggle, name="dict_toggle"),
    path("system/dicts/<int:pk>/items/new/", dict_item_create, name="dict_item_create"),
    path("system/dict-items/<int:pk>/edit/", dict_item_update, name="dict_item_update"),
    path("system/dict-items/<int:pk>/toggle/", dict_item_toggle, name="dict_item_toggle"),
]
