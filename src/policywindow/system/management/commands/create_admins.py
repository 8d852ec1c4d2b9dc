from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from policywindow.system.models import Department, Role, User
from policywindow.system.services.departments import save_department
from policywindow.system.services.users import create_user, generate_password

ADMINS = (("sys_admin", "系统管理员"), ("sec_admin", "安全管理员"), ("audit_admin", "审计管理员"))


class Command(BaseCommand):
    help = "首次部署：创建三员（系统管理员、安全管理员、审计管理员）账号，随机初始密码只显示一次"

    def add_arguments(self, parser):
        parser.add_argument("--org", default="省营商局", help="主管部门名称")
        parser.add_argument("--prefix", default="", help="账号前缀，如 ln_ 得到 ln_sysadmin")

    @transaction.atomic
    def handle(self, *args, **options):
        if User.objects.filter(roles__admin_kind__in=["system", "security", "audit"]).exists():
            raise CommandError(
                "系统中已存在三员账号，不再重复创建；三员账号的重置、停用与启用请在“三员管理 › 双人审批”中办理"
            )
        org = Department.objects.filter(
            name=options["org"], parent=None
        ).first() or save_department(None, Department(), name=options["org"], code="ROOT")
        names = {"sys_admin": "sysadmin", "sec_admin": "secadmin", "audit_admin": "auditor"}
        for code, label in ADMINS:
            password = generate_password()
            user = create_user(
                None,
                username=options["prefix"] + names[code],
                real_name=label,
                password=password,
                department=org,
                roles=[Role.objects.get(code=code)],
            )
            self.stdout.write(
                f"{label}：{user.username}  初始密码：{password}（首次登录须修改并绑定动态口令）"
            )
