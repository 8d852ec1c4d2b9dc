"""The architecture contracts (pyproject.toml, checked by lint-imports in `make test`) name every
app, and every service, selector, view and API module: a new one cannot slip past them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import policywindow

PACKAGE = Path(policywindow.__file__).parent
CONTRACTS = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))[
    "tool"
]["importlinter"]["contracts"]


def contract(starts: str) -> dict:
    (found,) = [c for c in CONTRACTS if c["name"].startswith(starts)]
    return found


def apps() -> set[str]:
    return {f"policywindow.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}


def top_modules() -> set[str]:
    return {f"policywindow.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def app_modules(pattern: str) -> set[str]:
    """Modules and packages directly inside an app whose name matches ``pattern``."""
    names = {p.relative_to(PACKAGE).with_suffix("") for p in PACKAGE.glob("*/*")}
    return {"policywindow." + ".".join(n.parts) for n in names if re.fullmatch(pattern, n.name)}


def covered(module: str, expressions: list[str]) -> bool:
    """Whether an import-linter expression (``*`` stands for one name) names the module or a
    package it is in."""
    for expression in expressions:
        regex = re.escape(expression).replace(r"\*", r"[^.]+")
        if re.match(rf"{regex}(\.|$)", module):
            return True
    return False


def uncovered(modules: set[str], expressions: list[str]) -> list[str]:
    return sorted(m for m in modules if not covered(m, expressions))


def test_the_kernel_contract_forbids_every_other_app():
    kernel = contract("Kernel imports no domain app")
    assert kernel["source_modules"] == ["policywindow.core"]
    assert uncovered(apps() - {"policywindow.core"}, kernel["forbidden_modules"]) == []


def test_the_demo_contract_watches_everything_but_demo():
    demo = contract("Nothing in the product imports demo")
    assert demo["forbidden_modules"] == ["policywindow.demo"]
    product = (apps() | top_modules()) - {"policywindow.demo"}
    assert uncovered(product, demo["source_modules"]) == []


def test_the_layer_contract_names_every_service_selector_view_and_api_module():
    layers = contract("Services and selectors import no API layer or views")
    reads_and_writes = app_modules(r"(services|selectors)(_\w+)?")
    assert {"policywindow.finance.services", "policywindow.system.selectors_logs"} <= (
        reads_and_writes
    )
    assert uncovered(reads_and_writes, layers["source_modules"]) == []
    faces = app_modules(r"views|api|api_\w+|urls") | {"policywindow.urls"}
    assert {"policywindow.workflow.views", "policywindow.applications.api_intake"} <= faces
    assert uncovered(faces, layers["forbidden_modules"]) == []


def test_coverage_is_checked_by_name_not_by_prefix():
    assert covered("policywindow.finance.services.budgets", ["policywindow.*.services"])
    assert not covered("policywindow.finance.services_old", ["policywindow.*.services"])
    assert not covered("policywindow.finance.views", ["policywindow.*.services"])
