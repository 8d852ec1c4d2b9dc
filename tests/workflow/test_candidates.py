"""Who may act on a workflow node: each kind of assignee, resolved to active staff."""

from __future__ import annotations

import pytest

from policywindow.enterprises.models import Region
from policywindow.system.models import Post, Role, User
from policywindow.workflow import subjects
from policywindow.workflow.candidates import Assignee, city_code, describe, explain_empty, resolve
from policywindow.workflow.definition import DefinitionError
from policywindow.workflow.subjects import APPLICATION
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version


def ctx(application):
    """The candidates' view of an application case (``workflow.subjects``)."""
    return subjects.get(APPLICATION).context(application)


@pytest.fixture
def kjt(make_department):
    return make_department("省科技厅")


@pytest.fixture
def case(kjt, make_user):
    """A case of a rule led by 省科技厅, filed by an enterprise of 沈阳市 和平区."""
    applicant = make_user("qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise()
    city = Region.objects.get(code="210100")
    district, _ = Region.objects.get_or_create(
        code="210102", defaults={"name": "和平区", "level": Region.Level.COUNTY, "parent": city}
    )
    enterprise.region = district
    enterprise.save(update_fields=["region"])
    return make_case(make_version(kjt), enterprise, applicant)


def test_dept_role_is_the_active_holders_of_an_enabled_role_in_exactly_that_department(
    kjt, make_department, make_user
):
    chief_b = make_user("chief_b", "section_chief", dept=kjt)
    chief_a = make_user("chief_a", "section_chief", dept=kjt)
    make_user("chief_off", "section_chief", dept=kjt, is_active=False)
    make_user("reviewer", "reviewer", dept=kjt)
    make_user("chief_below", "section_chief", dept=make_department("基础研究处", parent=kjt))
    assignee = Assignee("dept_role", department_id=kjt.pk, role_code="section_chief")

    assert resolve(assignee) == sorted([chief_a.pk, chief_b.pk])
    assert describe(assignee) == "省科技厅 · 科长"


def test_a_disabled_role_resolves_to_nobody_and_says_so(kjt, make_user):
    make_user("chief", "section_chief", dept=kjt)
    Role.objects.filter(code="section_chief").update(status="disabled")
    assignee = Assignee("dept_role", department_id=kjt.pk, role_code="section_chief")

    assert resolve(assignee) == []
    assert explain_empty(assignee) == "角色“科长”已停用"


def test_dept_role_without_holders_explains_which_department_and_role(kjt, make_user):
    make_user("chief_off", "section_chief", dept=kjt, is_active=False)
    assignee = Assignee("dept_role", department_id=kjt.pk, role_code="section_chief")

    assert resolve(assignee) == []
    assert explain_empty(assignee) == "省科技厅 没有启用的“科长”角色用户"
    assert explain_empty(Assignee("dept_role", department_id=kjt.pk, role_code="nope")) == (
        "角色 nope 不存在"
    )


def test_dept_leader_is_the_department_leader_while_active(kjt, make_user):
    leader = make_user("zhou", real_name="周强", dept=kjt)
    kjt.leader = leader
    kjt.save(update_fields=["leader"])
    assignee = Assignee("dept_leader", department_id=kjt.pk)

    assert resolve(assignee) == [leader.pk]
    assert describe(assignee) == "省科技厅 负责人"
    User.objects.filter(pk=leader.pk).update(is_active=False)
    assert resolve(assignee) == []
    assert explain_empty(assignee) == "部门 省科技厅 的负责人 周强 已停用或不是政府工作人员"


def test_a_department_without_leader_explains_it(kjt):
    assignee = Assignee("dept_leader", department_id=kjt.pk)

    assert resolve(assignee) == []
    assert explain_empty(assignee) == "部门 省科技厅 未设置负责人"


def test_post_matches_everywhere_or_within_one_department(kjt, department, make_user):
    post = Post.objects.create(code="section_chief", name="科长")
    in_kjt = make_user("p1", dept=kjt)
    elsewhere = make_user("p2", dept=department)
    inactive = make_user("p3", dept=kjt, is_active=False)
    for user in (in_kjt, elsewhere, inactive):
        user.posts.add(post)
    everywhere = Assignee("post", post_code="section_chief")
    within = Assignee("post", post_code="section_chief", department_id=kjt.pk)

    assert resolve(everywhere) == [in_kjt.pk, elsewhere.pk]
    assert resolve(within) == [in_kjt.pk]
    assert describe(within) == "省科技厅 · 科长岗位"
    assert describe(everywhere) == "科长岗位"
    Post.objects.filter(pk=post.pk).update(status="disabled")
    assert resolve(everywhere) == []
    assert explain_empty(everywhere) == "岗位“科长”已停用"


def test_explicit_users_keep_only_active_staff(make_user):
    wu = make_user("wu", real_name="吴芳")
    zhou = make_user("zhou", real_name="周强")
    gone = make_user("gone", is_active=False)
    firm = make_user("firm", "enterprise", kind=User.Kind.ENTERPRISE)
    assignee = Assignee("users", user_ids=(zhou.pk, wu.pk, gone.pk, firm.pk))

    assert resolve(assignee) == [wu.pk, zhou.pk]
    assert describe(Assignee("users", user_ids=(zhou.pk, wu.pk))) == "指定人员：吴芳、周强"
    assert resolve(Assignee("users", user_ids=(gone.pk,))) == []
    assert explain_empty(Assignee("users", user_ids=(gone.pk,))) == (
        "指定人员均不存在、已停用或不是政府工作人员"
    )


def test_lead_dept_role_uses_the_rule_versions_lead_department(case, kjt, department, make_user):
    reviewer = make_user("rev", "reviewer", dept=kjt)
    make_user("rev_other", "reviewer", dept=department)
    assignee = Assignee("lead_dept_role", role_code="reviewer")

    assert resolve(assignee, context=ctx(case)) == [reviewer.pk]
    assert describe(assignee) == "牵头部门 · 审核科员"
    User.objects.filter(pk=reviewer.pk).update(is_active=False)
    assert resolve(assignee, context=ctx(case)) == []
    assert explain_empty(assignee, ctx(case)) == "牵头部门 省科技厅 没有启用的“审核科员”角色用户"


def test_region_dept_role_uses_the_department_of_the_applicants_city(
    case, kjt, department, make_department, make_user
):
    shenyang = make_department("沈阳市营商局", parent=department, region_code="210100")
    make_department("大连市营商局", parent=department, region_code="210200")
    clerk = make_user("sy_clerk", "window_clerk", dept=shenyang)
    make_user("province_clerk", "window_clerk", dept=department)
    assignee = Assignee("region_dept_role", role_code="window_clerk")

    assert resolve(assignee, context=ctx(case)) == [clerk.pk]
    assert describe(assignee) == "申请企业所在地部门 · 窗口受理人员"
    scoped = Assignee("region_dept_role", role_code="window_clerk", department_id=department.pk)
    assert resolve(scoped, context=ctx(case)) == [clerk.pk]
    assert describe(scoped) == "申请企业所在地部门（省营商局下属） · 窗口受理人员"
    assert (
        resolve(
            Assignee("region_dept_role", role_code="window_clerk", department_id=kjt.pk),
            context=ctx(case),
        )
        == []
    )


def test_region_dept_role_does_not_fall_back_to_the_province(case, department, make_user):
    make_user("province_clerk", "window_clerk", dept=department)
    dalian, _ = Region.objects.get_or_create(
        code="210200", defaults={"name": "大连市", "level": Region.Level.CITY}
    )
    case.enterprise.region = dalian
    case.enterprise.save(update_fields=["region"])
    assignee = Assignee("region_dept_role", role_code="window_clerk")

    assert resolve(assignee, context=ctx(case)) == []
    assert explain_empty(assignee, ctx(case)) == "申请企业所在地 大连市 没有对应部门"


def test_region_department_without_the_role_names_the_department(case, department, make_department):
    make_department("沈阳市营商局", parent=department, region_code="210100")
    assignee = Assignee("region_dept_role", role_code="window_clerk")

    assert explain_empty(assignee, ctx(case)) == (
        "申请企业所在地 沈阳市 的沈阳市营商局 没有启用的“窗口受理人员”角色用户"
    )


def test_case_dependent_kinds_need_the_application():
    assignee = Assignee("lead_dept_role", role_code="reviewer")

    assert assignee.needs_application
    assert not Assignee("dept_leader", department_id=1).needs_application
    with pytest.raises(ValueError):
        resolve(assignee)


def test_city_code_of_districts_cities_and_the_province():
    assert city_code("210102") == "210100"
    assert city_code("210200") == "210200"
    assert city_code("210000") is None


@pytest.mark.parametrize(
    "assignee",
    [
        Assignee("dept_role", department_id=1, role_code="reviewer"),
        Assignee("dept_leader", department_id=1),
        Assignee("post", post_code="clerk"),
        Assignee("users", user_ids=(3, 2)),
        Assignee("lead_dept_role", role_code="reviewer"),
        Assignee("region_dept_role", role_code="window_clerk"),
        Assignee("region_dept_role", role_code="window_clerk", department_id=4),
    ],
)
def test_to_dict_and_back(assignee):
    data = assignee.to_dict()

    assert Assignee.from_dict(data) == assignee
    assert data["kind"] == assignee.kind
    assert all(value not in (None, "", []) for value in data.values())


def test_user_ids_are_stored_sorted_and_unique():
    assert Assignee("users", user_ids=(3, 2, 3)).to_dict() == {"kind": "users", "user_ids": [2, 3]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "boss"}, "未知的办理人类型：boss"),
        ({"kind": "dept_role", "department_id": 1}, "办理人（部门内角色）缺少角色"),
        ({"kind": "users", "user_ids": []}, "办理人（指定人员）缺少人员"),
        ({"kind": "dept_leader", "department_id": "1"}, "办理人的部门或人员编号无效"),
        (
            {"kind": "dept_leader", "department_id": 1, "role_code": "x"},
            "办理人（部门负责人）不应设置角色",
        ),
        ({"kind": "users", "user_ids": [1], "extra": 1}, "办理人设置含未知项：extra"),
        ({"kind": ["users"]}, "办理人类型无效"),
        ("users", "办理人设置格式无效"),
    ],
)
def test_bad_stored_assignees_are_refused_in_chinese(data, message):
    with pytest.raises(DefinitionError) as caught:
        Assignee.from_dict(data)

    assert caught.value.message == message


def test_resolving_takes_at_most_two_queries_however_many_users(
    case, kjt, department, make_department, make_user, django_assert_max_num_queries
):
    shenyang = make_department("沈阳市营商局", parent=department, region_code="210100")
    post = Post.objects.create(code="clerk", name="科员")
    for n in range(6):
        make_user(f"r{n}", "reviewer", "window_clerk", dept=kjt if n % 2 else shenyang)
        User.objects.get(username=f"r{n}").posts.add(post)
    kjt.leader = User.objects.get(username="r1")
    kjt.save(update_fields=["leader"])
    named = [f"r{n}" for n in range(6)]
    everyone = tuple(User.objects.filter(username__in=named).values_list("pk", flat=True))
    fresh = type(case).objects.get(pk=case.pk)  # nothing cached on the instance
    cases = [
        (Assignee("dept_role", department_id=kjt.pk, role_code="reviewer"), None, 3),
        (Assignee("dept_leader", department_id=kjt.pk), None, 1),
        (Assignee("post", post_code="clerk"), None, 6),
        (Assignee("users", user_ids=everyone), None, 6),
        (Assignee("lead_dept_role", role_code="reviewer"), fresh, 3),
        (Assignee("region_dept_role", role_code="window_clerk"), fresh, 3),
    ]

    for assignee, application, expected in cases:
        context = ctx(application) if application is not None else None
        with django_assert_max_num_queries(2):
            found = resolve(assignee, context=context)
        assert len(found) == expected
        assert found == sorted(found)
