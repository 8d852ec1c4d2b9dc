"""Working-day arithmetic on the holiday table."""

from django.http import HttpRequest
from ninja import Query, Router

from policywindow.core.calendar import nth_working_day

from ..schemas import ErrorOut, WorkingDaysOut, WorkingDaysQuery
from ..security import authenticated

router = Router(tags=["工作日历"])


@router.get(
    "/calendar/working-days",
    response={200: WorkingDaysOut, 400: ErrorOut},
    summary="计算 N 个工作日后的到期日（起始日不计入）",
)
@authenticated
def working_days(request: HttpRequest, params: Query[WorkingDaysQuery]):
    due_date, provisional = nth_working_day(params.start, params.days)
    return {
        "start": params.start,
        "days": params.days,
        "due_date": due_date,
        "due_provisional": provisional,
    }
