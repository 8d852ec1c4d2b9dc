"""GB/T 4754-2017 industries and GB/T 2260 Liaoning divisions, loaded by a data migration."""

from __future__ import annotations

import pytest
from django.apps import apps

from policywindow.core.codes import industry_section_of
from policywindow.enterprises.models import Industry, Region
from policywindow.enterprises.reference import load_reference_data

pytestmark = pytest.mark.django_db


def test_all_20_sections_and_97_divisions():
    sections = Industry.objects.filter(level=Industry.Level.SECTION)
    divisions = Industry.objects.filter(level=Industry.Level.DIVISION)
    assert sorted(sections.values_list("code", flat=True)) == list("ABCDEFGHIJKLMNOPQRST")
    assert sorted(divisions.values_list("code", flat=True)) == [f"{n:02d}" for n in range(1, 98)]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("A", "农、林、牧、渔业"),
        ("C", "制造业"),
        ("I", "信息传输、软件和信息技术服务业"),
        ("05", "农、林、牧、渔专业及辅助性活动"),
        ("25", "石油、煤炭及其他燃料加工业"),
        ("37", "铁路、船舶、航空航天和其他运输设备制造业"),
        ("39", "计算机、通信和其他电子设备制造业"),
        ("59", "装卸搬运和仓储业"),
        ("65", "软件和信息技术服务业"),
        ("79", "土地管理业"),
        ("96", "基层群众自治组织及其他组织"),
        ("97", "国际组织"),
        ("702", "物业管理"),
    ],
)
def test_industry_names(code, name):
    assert Industry.objects.get(code=code).name == name


def test_every_division_hangs_under_its_section():
    for division in Industry.objects.filter(level=Industry.Level.DIVISION):
        assert division.parent_id == industry_section_of(division.code), division.code


def test_groups_are_only_those_the_size_rules_need():
    groups = Industry.objects.filter(level=Industry.Level.GROUP)
    assert {g.parent_id for g in groups} == {"59", "70"}
    assert groups.count() == 12


def test_liaoning_province_and_its_14_cities():
    assert Region.objects.get(code="210000").name == "辽宁省"
    cities = Region.objects.filter(level=Region.Level.CITY).order_by("code")
    assert cities.count() == 14
    assert [c.name for c in cities][:2] == ["沈阳市", "大连市"]
    assert cities.last().code == "211400" and cities.last().name == "葫芦岛市"
    assert all(c.parent_id == "210000" for c in cities)


def test_100_county_level_divisions_under_their_cities():
    counties = Region.objects.filter(level=Region.Level.COUNTY)
    assert counties.count() == 100
    assert all(c.parent_id == c.code[:4] + "00" for c in counties)


@pytest.mark.parametrize(
    ("code", "name", "city"),
    [
        ("210102", "和平区", "沈阳市"),
        ("210112", "浑南区", "沈阳市"),
        ("210181", "新民市", "沈阳市"),
        ("210213", "金州区", "大连市"),
        ("210214", "普兰店区", "大连市"),
        ("210283", "庄河市", "大连市"),
        ("210323", "岫岩满族自治县", "鞍山市"),
        ("210381", "海城市", "鞍山市"),
        ("210804", "鲅鱼圈区", "营口市"),
        ("210882", "大石桥市", "营口市"),
        ("211104", "大洼区", "盘锦市"),
        ("211324", "喀喇沁左翼蒙古族自治县", "朝阳市"),
    ],
)
def test_region_spot_checks(code, name, city):
    region = Region.objects.select_related("parent").get(code=code)
    assert (region.name, region.parent.name) == (name, city)
    assert region.full_name == f"{city} {name}"


def test_district_counts_of_the_main_cities():
    counts = {
        code: Region.objects.filter(parent_id=code).count()
        for code in ("210100", "210200", "210300", "210800")
    }
    assert counts == {"210100": 13, "210200": 10, "210300": 7, "210800": 6}


def test_loading_again_changes_nothing_and_repairs_edits():
    Industry.objects.filter(code="39").update(name="被改掉的名称")
    before = (Industry.objects.count(), Region.objects.count())
    load_reference_data(apps)
    assert (Industry.objects.count(), Region.objects.count()) == before
    assert Industry.objects.get(code="39").name == "计算机、通信和其他电子设备制造业"
