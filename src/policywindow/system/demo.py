"""Demo data (演示数据): the departments of the reform task table, city bureaus and one
user per role. Loading is idempotent: a second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from .models import Department, Post, Role, User

DEMO_PASSWORD = "Pw@Demo2026"  # noqa: S105 — printed demo password, demo data only

# (code, name, kind, parent code, region code). Province departments named in the reform
# table (../shared/data), plus 省财政厅 and city bureaus under their provincial lines.
DEPARTMENTS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("YSJ", "省营商局", "province", None, "210000"),
    ("YSJ-ZWFW", "政务服务处", "province", "YSJ", "210000"),
    ("YSJ-ZCDX", "政策兑现处", "province", "YSJ", "210000"),
    ("YSJ-XXZX", "信息中心", "province", "YSJ", "210000"),
    ("SY-YSJ", "沈阳市营商局", "city", "YSJ", "210100"),
    ("DL-YSJ", "大连市营商局", "city", "YSJ", "210200"),
    ("AS-YSJ", "鞍山市营商局", "city", "YSJ", "210300"),
    ("YK-YSJ", "营口市营商局", "city", "YSJ", "210800"),
    ("CZT", "省财政厅", "province", None, "210000"),
    ("SY-CZJ", "沈阳市财政局", "city", "CZT", "210100"),
    ("DL-CZJ", "大连市财政局", "city", "CZT", "210200"),
    ("KJT", "省科技厅", "province", None, "210000"),
    ("SY-KJJ", "沈阳市科技局", "city", "KJT", "210100"),
    ("GXT", "省工业和信息化厅", "province", None, "210000"),
    ("DL-GXJ", "大连市工业和信息化局", "city", "GXT", "210200"),
    ("SWT", "省商务厅", "province", None, "210000"),
    ("RST", "省人力资源社会保障厅", "province", None, "210000"),
    ("FGW", "省发展改革委", "province", None, "210000"),
    ("JYT", "省教育厅", "province", None, "210000"),
    ("GAT", "省公安厅", "province", None, "210000"),
    ("ZRZYT", "省自然资源厅", "province", None, "210000"),
    ("STHJT", "省生态环境厅", "province", None, "210000"),
    ("ZJT", "省住房城乡建设厅", "province", None, "210000"),
    ("GZW", "省国资委", "province", None, "210000"),
    ("SCJGJ", "省市场监管局", "province", None, "210000"),
    ("SWJ", "省税务局", "province", None, "210000"),
    ("JRJGJ", "省金融监管局", "province", None, "210000"),
    ("RFB", "省人防办", "province", None, "210000"),
    ("RMYH", "人民银行沈阳分行", "other", None, "210100"),
    ("DLHG", "大连海关", "other", None, "210200"),
    ("SYHG", "沈阳海关", "other", None, "210100"),
    ("LNHSJ", "辽宁海事局", "other", None, "210200"),
)

POSTS = (
    ("director", "处长/局长"),
    ("section_chief", "科长"),
    ("clerk", "科员"),
    ("window", "窗口受理员"),
    ("finance", "财务专员"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    real_name: str
    department: str | None
    roles: tuple[str, ...]
    posts: tuple[str, ...] = ()
    kind: str = User.Kind.STAFF
    mobile: str = ""
    leads: str | None = None  # department code this user leads


USERS: tuple[DemoUser, ...] = (
    DemoUser("sysadmin", "王建国", "YSJ-XXZX", ("sys_admin",), ("director",), mobile="13840000001"),
    DemoUser("secadmin", "李安全", "YSJ-XXZX", ("sec_admin",), ("clerk",), mobile="13840000002"),
    DemoUser("auditor", "赵审计", "YSJ-XXZX", ("audit_admin",), ("clerk",), mobile="13840000003"),
    DemoUser(
        "ysj_leader",
        "陈志远",
        "YSJ",
        ("bureau_leader",),
        ("director",),
        mobile="13840000010",
        leads="YSJ",
    ),
    DemoUser(
        "zcdx_chief",
        "刘晓梅",
        "YSJ-ZCDX",
        ("policy_admin", "section_chief"),
        ("director",),
        mobile="13840000011",
        leads="YSJ-ZCDX",
    ),
    DemoUser("clerk", "张明", "YSJ-ZWFW", ("window_clerk",), ("window",), mobile="13840000012"),
    DemoUser(
        "zwfw_chief",
        "孙丽",
        "YSJ-ZWFW",
        ("window_clerk", "section_chief"),
        ("director",),
        mobile="13840000013",
        leads="YSJ-ZWFW",
    ),
    DemoUser("kjt_clerk", "周强", "KJT", ("reviewer",), ("clerk",), mobile="13840000021"),
    DemoUser(
        "kjt_chief", "吴芳", "KJT", ("section_chief",), ("section_chief",), mobile="13840000022"
    ),
    DemoUser(
        "kjt_leader",
        "郑海涛",
        "KJT",
        ("dept_leader",),
        ("director",),
        mobile="13840000023",
        leads="KJT",
    ),
    DemoUser("gxt_clerk", "冯雪", "GXT", ("reviewer",), ("clerk",), mobile="13840000031"),
    DemoUser(
        "gxt_chief", "褚建华", "GXT", ("section_chief",), ("section_chief",), mobile="13840000032"
    ),
    DemoUser(
        "gxt_leader",
        "卫东",
        "GXT",
        ("dept_leader",),
        ("director",),
        mobile="13840000033",
        leads="GXT",
    ),
    # Reviews the 财政厅审核 node of every demo workflow (审核科员) and handles payment (财政人员).
    DemoUser(
        "czt_officer",
        "蒋红",
        "CZT",
        ("finance_officer", "reviewer"),
        ("finance",),
        mobile="13840000041",
    ),
    DemoUser(
        "czt_leader",
        "沈国栋",
        "CZT",
        ("finance_officer", "dept_leader"),
        ("director",),
        mobile="13840000042",
        leads="CZT",
    ),
    DemoUser("swt_clerk", "高原", "SWT", ("reviewer",), ("clerk",), mobile="13840000071"),
    DemoUser(
        "swt_leader",
        "林涛",
        "SWT",
        ("dept_leader",),
        ("director",),
        mobile="13840000072",
        leads="SWT",
    ),
    DemoUser("rst_clerk", "何静", "RST", ("reviewer",), ("clerk",), mobile="13840000081"),
    DemoUser(
        "rst_leader",
        "马骏",
        "RST",
        ("dept_leader",),
        ("director",),
        mobile="13840000082",
        leads="RST",
    ),
    # City windows: their own city's enterprises and cases (本部门及以下), not the province's.
    DemoUser(
        "sy_clerk", "韩雪", "SY-YSJ", ("city_window_clerk",), ("window",), mobile="13840000051"
    ),
    DemoUser(
        "dl_clerk", "杨帆", "DL-YSJ", ("city_window_clerk",), ("window",), mobile="13840000061"
    ),
    DemoUser(
        "qiye_zhang",
        "张立新",
        None,
        ("enterprise",),
        kind=User.Kind.ENTERPRISE,
        mobile="13940000001",
    ),
    DemoUser(
        "qiye_li", "李文静", None, ("enterprise",), kind=User.Kind.ENTERPRISE, mobile="13940000002"
    ),
)


@transaction.atomic
def load_demo() -> int:
    """Create whatever demo departments, posts and users are missing; returns how many.

    Record by record, so a product upgrade that adds demo records adds them to an existing
    demo database too, and a second run changes nothing.
    """
    created = 0
    departments = {
        d.code: d for d in Department.objects.filter(code__in=[d[0] for d in DEPARTMENTS])
    }
    for order, (code, name, kind, parent, region) in enumerate(DEPARTMENTS, start=1):
        if code in departments:
            continue
        dept = Department(
            code=code,
            name=name,
            kind=kind,
            parent=departments.get(parent) if parent else None,
            region_code=region,
            order=order * 10,
            phone=f"024-2{order:03d}{order:04d}"[:13],
        )
        dept.save()
        dept.path = (dept.parent.path if dept.parent else "/") + f"{dept.pk}/"
        dept.save(update_fields=["path"])
        departments[code] = dept
        created += 1
    posts = {
        code: Post.objects.get_or_create(code=code, defaults={"name": name, "order": i * 10})[0]
        for i, (code, name) in enumerate(POSTS, start=1)
    }
    roles = {r.code: r for r in Role.objects.all()}
    existing = {
        user.username: user
        for user in User.objects.filter(username__in=[u.username for u in USERS])
    }
    # One hash for every demo account: full-strength hashing 19 times costs seconds.
    password_hash = make_password(DEMO_PASSWORD)
    for spec in USERS:
        if spec.username in existing:
            _keep_demo_roles(existing[spec.username], [roles[c] for c in spec.roles])
            continue
        user = User(
            username=spec.username,
            real_name=spec.real_name,
            kind=spec.kind,
            mobile=spec.mobile,
            department=departments.get(spec.department) if spec.department else None,
            must_change_password=False,
            remark="演示数据",
        )
        user.password = password_hash
        user.save()
        user.roles.set([roles[c] for c in spec.roles])
        user.posts.set([posts[c] for c in spec.posts])
        if spec.leads:
            Department.objects.filter(code=spec.leads).update(leader=user)
        created += 1
    return created


def _keep_demo_roles(user: User, roles: list[Role]) -> None:
    """A demo account holds the roles the demo names: a database loaded by an earlier release
    gets the corrected ones (e.g. 财政厅's reviewer, the city windows' own role)."""
    if user.remark == "演示数据" and set(user.roles.all()) != set(roles):
        user.roles.set(roles)


def demo_accounts_text() -> str:
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}，仅用于演示）:"]
    for spec in USERS:
        role_names = "、".join(
            Role.objects.filter(code__in=spec.roles).values_list("name", flat=True)
        )
        lines.append(f"  {spec.username:<12} {spec.real_name:<4} {role_names}")
    return "\n".join(lines)
