"""Deterministic, synthetic demo data for a county like 武定县 (Wuding County, Chuxiong, Yunnan).

The data is **synthetic**. Only its shape follows the county's 2020 self-evaluation report (WD2020):
85 county-level departments (县级部门) and 11 townships (乡镇), 96 budget units in all, and 99 projects
paid from county-level revenue (县级财力安排项目支出) totalling 14,724.21万元 = 147,242,100.00 元.
Every name of a unit or project is typical of a Chinese county. The amounts, scores, balances and
codes are random draws from fixed distributions.

What a default request (``n_projects=99``) holds
    * 96 departments: ``D001``…``D085`` (kind ``department``) and ``T01``…``T11`` (kind ``township``,
      the real 7 镇 and 4 乡 of 武定县), most with an ``overall_score``.
    * One ``public_operating`` line per unit, ``B-<unit>-GY`` "<unit>公用经费".
    * A ``three_public`` line for about 85% of the units, ``B-<unit>-SG`` "<unit>“三公”经费", always
      with a ``prior_year_budget``. Most requests are at or below the prior year and some are above.
    * 99 ``project`` lines ``P0001``…``P0099`` taken from a fixed catalogue of county projects. Their
      requests total 10–20% more than the report's 147,242,100.00 元. The catalogue includes
      cross-department overlaps (the same ``purpose_code`` and ``beneficiary``) and one department with
      three small lines (< 100,000.00) sharing a ``purpose_code`` (fragmentation).

Envelope (县级财力可安排数)
    ``envelope = B + round(P × 147,242,100.00 / R)``, rounded half up to 0.01 元, where

    * ``B`` is the sum of ``requested`` over all ``public_operating`` and ``three_public`` lines,
    * ``P`` is the sum of ``requested`` over all ``project`` lines of this request, and
    * ``R`` is the sum of ``requested`` over the 99 project lines that the same ``seed`` and
      ``fiscal_year`` give with ``n_projects=99``.

    When ``n_projects == 99``, ``P == R`` and the envelope is exactly ``B + 147,242,100.00``. That is
    the basic expenditure plus the report's 99 projects, so the projects compete for less money than
    they ask for. For other sizes the projects' share is scaled by the same ratio.

Larger datasets
    For ``n_projects <= 9600`` there is one county with 96 units. Larger requests model a province
    with ``ceil(n_projects / 9600)`` counties (real Yunnan county names, each with 85 departments and
    11 townships), so there is about one unit for every 100 projects. Each county takes a contiguous
    block of the projects and cycles through the catalogue. From the second cycle on, a name gets a
    qualifier such as "（猫街镇片区）".

Determinism
    All randomness comes from :class:`random.Random` instances seeded with strings derived from
    ``seed``, so the same arguments always give the same request. :func:`dumps_request` renders it as
    byte-identical JSON (``ensure_ascii=False, indent=1``). Projects are produced lazily by
    :func:`iter_projects`, so memory stays proportional to the output.

Command line::

    python -m service.demo [--projects N] [--seed S] [--fiscal-year Y] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Any, Final

__all__ = [
    "COUNTY_DEPARTMENTS",
    "COUNTY_TOWNSHIPS",
    "PROJECTS_PER_COUNTY",
    "REPORT_PROJECT_COUNT",
    "REPORT_PROJECT_TOTAL",
    "RULESET",
    "compute_envelope",
    "county_count",
    "dumps_request",
    "generate_departments",
    "generate_request",
    "iter_basic_lines",
    "iter_projects",
    "main",
    "projects_total",
]

RULESET: Final = "wuding-county"
REPORT_PROJECT_COUNT: Final = 99
"""县级财力安排项目支出个数 in WD2020."""
REPORT_PROJECT_TOTAL: Final = Decimal("147242100.00")
"""14,724.21万元: the county-level project expenditure in WD2020, in 元."""
PROJECTS_PER_COUNTY: Final = 9600
"""Above this many projects a further county is added (about one unit per 100 projects)."""

CENT: Final = Decimal("0.01")
MIN_PROJECT_FEN: Final = 50_000_00
MAX_PROJECT_FEN: Final = 8_000_000_00

JsonDict = dict[str, Any]
Score = int | float

# --------------------------------------------------------------------------------------------------
# Reference data. "{c}" stands for the county: "县" in a one-county request ("县农业农村局"), the
# county's full name otherwise ("禄丰市农业农村局"). Sizes: S small, M medium, L large unit.
# --------------------------------------------------------------------------------------------------

COUNTY_DEPARTMENTS: Final[tuple[tuple[str, str], ...]] = (
    ("{c}委办公室", "M"),
    ("{c}人大常委会办公室", "M"),
    ("{c}人民政府办公室", "M"),
    ("{c}政协办公室", "M"),
    ("{c}纪委监委", "M"),
    ("{c}委组织部", "M"),
    ("{c}委宣传部", "M"),
    ("{c}委统战部", "S"),
    ("{c}委政法委员会", "S"),
    ("{c}委机构编制委员会办公室", "S"),
    ("{c}委党校", "S"),
    ("{c}委老干部局", "S"),
    ("{c}委党史研究室", "S"),
    ("{c}档案馆", "S"),
    ("{c}发展和改革局", "M"),
    ("{c}工业商务和信息化局", "M"),
    ("{c}教育体育局", "L"),
    ("{c}科学技术局", "S"),
    ("{c}民族宗教事务局", "S"),
    ("{c}公安局", "L"),
    ("{c}民政局", "M"),
    ("{c}司法局", "M"),
    ("{c}财政局", "L"),
    ("{c}人力资源和社会保障局", "M"),
    ("{c}自然资源局", "M"),
    ("{c}住房和城乡建设局", "M"),
    ("{c}交通运输局", "M"),
    ("{c}水务局", "M"),
    ("{c}农业农村局", "L"),
    ("{c}文化和旅游局", "M"),
    ("{c}卫生健康局", "M"),
    ("{c}退役军人事务局", "S"),
    ("{c}应急管理局", "M"),
    ("{c}审计局", "S"),
    ("{c}市场监督管理局", "L"),
    ("{c}统计局", "S"),
    ("{c}医疗保障局", "S"),
    ("{c}林业和草原局", "M"),
    ("{c}乡村振兴局", "M"),
    ("{c}信访局", "S"),
    ("{c}政务服务管理局", "S"),
    ("{c}机关事务管理局", "S"),
    ("{c}投资促进局", "S"),
    ("{c}综合行政执法局", "M"),
    ("{c}人民法院", "L"),
    ("{c}人民检察院", "M"),
    ("{c}总工会", "S"),
    ("团{c}委", "S"),
    ("{c}妇女联合会", "S"),
    ("{c}残疾人联合会", "S"),
    ("{c}工商业联合会", "S"),
    ("{c}科学技术协会", "S"),
    ("{c}文学艺术界联合会", "S"),
    ("{c}红十字会", "S"),
    ("{c}供销合作社联合社", "S"),
    ("{c}融媒体中心", "M"),
    ("{c}疾病预防控制中心", "M"),
    ("{c}人民医院", "L"),
    ("{c}中医医院", "M"),
    ("{c}妇幼保健院", "M"),
    ("{c}动物疫病预防控制中心", "S"),
    ("{c}农业技术推广中心", "M"),
    ("{c}林业和草原技术推广站", "S"),
    ("{c}水土保持工作站", "S"),
    ("{c}农村公路管理段", "S"),
    ("{c}第一中学", "L"),
    ("{c}民族中学", "M"),
    ("{c}职业高级中学", "M"),
    ("{c}特殊教育学校", "S"),
    ("{c}图书馆", "S"),
    ("{c}文化馆", "S"),
    ("{c}博物馆", "S"),
    ("{c}社会福利院", "S"),
    ("{c}殡葬管理所", "S"),
    ("{c}环境卫生管理站", "S"),
    ("{c}不动产登记中心", "S"),
    ("{c}劳动就业服务局", "S"),
    ("{c}医疗保障服务中心", "S"),
    ("{c}人民武装部", "S"),
    ("{c}消防救援大队", "M"),
    ("{c}气象局", "S"),
    ("{c}工业园区管理委员会", "M"),
    ("{c}农业综合行政执法大队", "S"),
    ("{c}财政国库支付中心", "S"),
    ("{c}机关幼儿园", "S"),
)
"""The 85 county-level departments (县级部门) of one county, in id order."""

WUDING_TOWNSHIPS: Final[tuple[str, ...]] = (
    "狮山镇",
    "高桥镇",
    "猫街镇",
    "插甸镇",
    "白路镇",
    "万德镇",
    "己衣镇",
    "田心乡",
    "发窝乡",
    "环州乡",
    "东坡傣族乡",
)
"""The 7 镇 and 4 乡 of 武定县."""
COUNTY_TOWNSHIPS: Final = len(WUDING_TOWNSHIPS)

YUNNAN_COUNTIES: Final[tuple[str, ...]] = (
    # 楚雄州 (武定县 first: county 0 is always Wuding)
    "武定县",
    "楚雄市",
    "双柏县",
    "牟定县",
    "南华县",
    "姚安县",
    "大姚县",
    "永仁县",
    "元谋县",
    "禄丰市",
    # 昆明市
    "五华区",
    "盘龙区",
    "官渡区",
    "西山区",
    "东川区",
    "呈贡区",
    "晋宁区",
    "富民县",
    "宜良县",
    "石林彝族自治县",
    "嵩明县",
    "禄劝彝族苗族自治县",
    "寻甸回族彝族自治县",
    "安宁市",
    # 曲靖市
    "麒麟区",
    "沾益区",
    "马龙区",
    "陆良县",
    "师宗县",
    "罗平县",
    "富源县",
    "会泽县",
    "宣威市",
    # 玉溪市
    "红塔区",
    "江川区",
    "通海县",
    "华宁县",
    "易门县",
    "峨山彝族自治县",
    "新平彝族傣族自治县",
    "元江哈尼族彝族傣族自治县",
    "澄江市",
    # 保山市
    "隆阳区",
    "施甸县",
    "龙陵县",
    "昌宁县",
    "腾冲市",
    # 昭通市
    "昭阳区",
    "鲁甸县",
    "巧家县",
    "盐津县",
    "大关县",
    "永善县",
    "绥江县",
    "镇雄县",
    "彝良县",
    "威信县",
    "水富市",
    # 丽江市
    "古城区",
    "玉龙纳西族自治县",
    "永胜县",
    "华坪县",
    "宁蒗彝族自治县",
    # 普洱市
    "思茅区",
    "宁洱哈尼族彝族自治县",
    "墨江哈尼族自治县",
    "景东彝族自治县",
    "景谷傣族彝族自治县",
    "镇沅彝族哈尼族拉祜族自治县",
    "江城哈尼族彝族自治县",
    "孟连傣族拉祜族佤族自治县",
    "澜沧拉祜族自治县",
    "西盟佤族自治县",
    # 临沧市
    "临翔区",
    "凤庆县",
    "云县",
    "永德县",
    "镇康县",
    "双江拉祜族佤族布朗族傣族自治县",
    "耿马傣族佤族自治县",
    "沧源佤族自治县",
    # 红河州
    "个旧市",
    "开远市",
    "蒙自市",
    "弥勒市",
    "屏边苗族自治县",
    "建水县",
    "石屏县",
    "泸西县",
    "元阳县",
    "红河县",
    "金平苗族瑶族傣族自治县",
    "绿春县",
    "河口瑶族自治县",
    # 文山州
    "文山市",
    "砚山县",
    "西畴县",
    "麻栗坡县",
    "马关县",
    "丘北县",
    "广南县",
    "富宁县",
    # 西双版纳州
    "景洪市",
    "勐海县",
    "勐腊县",
    # 大理州
    "大理市",
    "漾濞彝族自治县",
    "祥云县",
    "宾川县",
    "弥渡县",
    "南涧彝族自治县",
    "巍山彝族回族自治县",
    "永平县",
    "云龙县",
    "洱源县",
    "剑川县",
    "鹤庆县",
    # 德宏州
    "瑞丽市",
    "芒市",
    "梁河县",
    "盈江县",
    "陇川县",
    # 怒江州
    "泸水市",
    "福贡县",
    "贡山独龙族怒族自治县",
    "兰坪白族普米族自治县",
    # 迪庆州
    "香格里拉市",
    "德钦县",
    "维西傈僳族自治县",
)
"""County-level divisions of Yunnan, used to name the counties of a multi-county request."""

_PLACE_HEADS: Final = "龙凤马石新和平安大小中河山松柏云金银青白红东西南北上下黄杨桃李梅竹"
_PLACE_TAILS: Final = "山河坝村街桥甸哨营关场林溪湾坪塘田口寨冲箐庄"

# Catalogue of county projects: (name, owner, base amount in 元, purpose_code, beneficiary, flags).
# owner is a department template of COUNTY_DEPARTMENTS or "T01".."T11" (a township, "{t}" in the
# name). Flags: "u" urgent (亟需支持的领域); "e" evaluated in 2020 with grade 良 or better
# (WD2020 四(2): 动物防疫、抗疫、老年人高龄补贴); "k" always keep purpose_code (overlap and
# fragmentation cases). Purpose codes are functional classification codes (政府收支分类科目).
_Template = tuple[str, str, int, str, str, str]
PROJECT_CATALOGUE: Final[tuple[_Template, ...]] = (
    ("动物防疫", "{c}动物疫病预防控制中心", 1_200_000, "2130108", "", "e"),
    ("高标准农田建设", "{c}农业农村局", 6_500_000, "2130153", "项目区农户", ""),
    ("农作物病虫害防控", "{c}农业技术推广中心", 460_000, "2130108", "", ""),
    ("耕地保护与化肥减量增效", "{c}农业技术推广中心", 380_000, "2130135", "", ""),
    ("农村人居环境整治", "{c}农业农村局", 3_600_000, "2130126", "", ""),
    ("巩固拓展脱贫攻坚成果衔接资金县级配套", "{c}乡村振兴局", 8_000_000, "2130505", "脱贫人口", ""),
    ("脱贫人口小额信贷贴息", "{c}乡村振兴局", 1_500_000, "2130599", "", ""),
    ("易地扶贫搬迁后续扶持", "{c}乡村振兴局", 2_800_000, "2130506", "易地搬迁群众", ""),
    ("农村公益性岗位补贴", "{c}人力资源和社会保障局", 1_800_000, "2080799", "脱贫劳动力", "k"),
    ("新型农业经营主体培育", "{c}农业农村局", 650_000, "2130122", "", ""),
    ("农业产业化龙头企业扶持", "{c}农业农村局", 1_000_000, "2130122", "", ""),
    ("烤烟生产扶持", "{c}农业农村局", 2_600_000, "2130122", "烟农", ""),
    ("农业保险保费补贴县级配套", "{c}财政局", 1_300_000, "2130803", "", ""),
    ("村级组织运转经费", "{c}委组织部", 4_800_000, "2130705", "", ""),
    ("一事一议财政奖补", "{c}财政局", 2_000_000, "2130701", "", ""),
    ("农村饮水安全巩固提升", "{c}水务局", 4_200_000, "2130316", "农村供水受益群众", ""),
    ("小型水利工程维修养护", "{c}水务局", 1_100_000, "2130306", "", ""),
    ("河长制工作经费", "{c}水务局", 300_000, "2130311", "", ""),
    ("防汛抗旱", "{c}水务局", 520_000, "2130314", "", "u"),
    ("水土流失综合治理", "{c}水土保持工作站", 1_600_000, "2130310", "", ""),
    ("中小河流治理县级配套", "{c}水务局", 2_500_000, "2130319", "", ""),
    ("森林防火", "{c}林业和草原局", 1_500_000, "2130234", "", "u"),
    ("生态护林员补助县级配套", "{c}林业和草原局", 1_200_000, "2130209", "", ""),
    ("林业有害生物防治", "{c}林业和草原技术推广站", 260_000, "2130234", "", ""),
    ("退耕还林成果巩固", "{c}林业和草原局", 900_000, "2130299", "", ""),
    ("草原生态保护", "{c}林业和草原技术推广站", 350_000, "2130237", "", ""),
    ("疫情防控", "{c}卫生健康局", 5_800_000, "2100410", "", "ue"),
    ("基本公共卫生服务县级配套", "{c}卫生健康局", 2_900_000, "2100408", "城乡居民", ""),
    ("家庭医生签约服务", "{c}卫生健康局", 700_000, "2100408", "", ""),
    ("计划生育家庭奖励扶助", "{c}卫生健康局", 3_300_000, "2100717", "计划生育家庭", ""),
    ("城乡居民基本医疗保险县级补助", "{c}医疗保障局", 7_800_000, "2101202", "参保城乡居民", ""),
    ("城乡困难群众医疗救助", "{c}医疗保障局", 2_100_000, "2101301", "城乡困难群众", "uk"),
    ("重大传染病防控", "{c}疾病预防控制中心", 600_000, "2100409", "", ""),
    ("妇幼健康服务", "{c}妇幼保健院", 480_000, "2100403", "", ""),
    ("县人民医院医疗设备购置", "{c}人民医院", 5_000_000, "2100201", "", ""),
    ("中医药传承发展", "{c}中医医院", 350_000, "2100202", "", ""),
    ("乡村医生补助", "{c}卫生健康局", 1_150_000, "2100399", "乡村医生", ""),
    ("爱国卫生运动", "{c}卫生健康局", 220_000, "2100499", "", ""),
    ("老年人高龄补贴", "{c}民政局", 2_650_000, "2081002", "80周岁以上老年人", "e"),
    ("城乡最低生活保障县级配套", "{c}民政局", 5_500_000, "2081902", "低保对象", ""),
    ("特困人员救助供养", "{c}民政局", 2_300_000, "2082102", "特困人员", ""),
    ("临时救助及医疗救助", "{c}民政局", 650_000, "2101301", "城乡困难群众", "k"),
    ("残疾人两项补贴", "{c}残疾人联合会", 2_200_000, "2081107", "困难残疾人", ""),
    ("孤儿和事实无人抚养儿童基本生活保障", "{c}民政局", 800_000, "2081001", "", ""),
    ("殡葬改革惠民补助", "{c}殡葬管理所", 420_000, "2081004", "", ""),
    ("社会福利院运行保障", "{c}社会福利院", 560_000, "2081005", "", ""),
    ("退役军人优抚", "{c}退役军人事务局", 3_100_000, "2080899", "重点优抚对象", ""),
    ("义务兵家庭优待金", "{c}退役军人事务局", 1_400_000, "2080805", "", ""),
    ("义务教育营养改善计划", "{c}教育体育局", 4_600_000, "2050299", "农村义务教育学生", ""),
    ("学前教育保教费补助", "{c}教育体育局", 1_900_000, "2050201", "", ""),
    ("普通高中改善办学条件", "{c}第一中学", 5_200_000, "2050204", "", ""),
    ("职业教育发展", "{c}职业高级中学", 1_200_000, "2050302", "", ""),
    ("特殊教育保障", "{c}特殊教育学校", 300_000, "2050701", "", ""),
    ("乡村教师生活补助", "{c}教育体育局", 3_600_000, "2050299", "乡村教师", ""),
    ("学生资助县级配套", "{c}教育体育局", 1_400_000, "2050299", "", ""),
    ("教师培训", "{c}教育体育局", 450_000, "2050803", "", ""),
    ("全民健身活动", "{c}教育体育局", 180_000, "2070307", "", ""),
    ("乡村公路养护", "{c}农村公路管理段", 4_400_000, "2140106", "", ""),
    ("农村公路安全生命防护工程", "{c}交通运输局", 2_900_000, "2140104", "", ""),
    ("城乡客运补贴", "{c}交通运输局", 900_000, "2140199", "", ""),
    ("农村危房改造县级配套", "{c}住房和城乡建设局", 2_700_000, "2210105", "农村住房困难户", ""),
    ("城镇老旧小区改造", "{c}住房和城乡建设局", 3_600_000, "2210108", "", ""),
    ("县城市政设施维护", "{c}综合行政执法局", 1_600_000, "2120399", "", ""),
    ("城乡环境卫生保洁", "{c}环境卫生管理站", 2_400_000, "2120501", "", ""),
    ("污水处理厂运营", "{c}住房和城乡建设局", 1_300_000, "2110302", "", ""),
    ("国土空间规划编制", "{c}自然资源局", 1_500_000, "2200104", "", ""),
    ("地质灾害防治", "{c}自然资源局", 1_100_000, "2240601", "", "u"),
    ("不动产登记系统运维", "{c}不动产登记中心", 260_000, "2200199", "", ""),
    ("应急救灾物资储备", "{c}应急管理局", 600_000, "2240703", "", "u"),
    ("安全生产监管执法", "{c}应急管理局", 350_000, "2240106", "", ""),
    ("基层消防站建设", "{c}消防救援大队", 1_800_000, "2240204", "", ""),
    ("非物质文化遗产保护传承", "{c}文化和旅游局", 85_000, "2070109", "", "k"),
    ("农村公益电影放映", "{c}文化和旅游局", 62_000, "2070109", "", "k"),
    ("群众文化活动", "{c}文化和旅游局", 78_000, "2070109", "", "k"),
    ("文物保护修缮", "{c}文化和旅游局", 900_000, "2070204", "", ""),
    ("旅游宣传推介", "{c}文化和旅游局", 500_000, "2070699", "", ""),
    ("应急广播体系建设", "{c}融媒体中心", 750_000, "2070899", "", ""),
    ("公安执法办案", "{c}公安局", 2_300_000, "2040220", "", ""),
    ("天网工程运维", "{c}公安局", 1_300_000, "2040299", "", ""),
    ("禁毒工作经费", "{c}公安局", 400_000, "2040299", "", ""),
    ("人民调解与法律援助", "{c}司法局", 320_000, "2040607", "", ""),
    ("社区矫正", "{c}司法局", 150_000, "2040610", "", ""),
    ("法院审判业务", "{c}人民法院", 900_000, "2040599", "", ""),
    ("检察办案业务", "{c}人民检察院", 600_000, "2040499", "", ""),
    ("招商引资工作经费", "{c}投资促进局", 450_000, "2011308", "", ""),
    ("工业园区基础设施建设", "{c}工业园区管理委员会", 6_000_000, "2120399", "", ""),
    ("电子商务进农村", "{c}工业商务和信息化局", 800_000, "2160299", "", ""),
    ("食品安全抽检", "{c}市场监督管理局", 380_000, "2013816", "", ""),
    ("脱贫劳动力外出务工交通补助", "{c}乡村振兴局", 600_000, "2080799", "脱贫劳动力", "k"),
    ("人大代表履职", "{c}人大常委会办公室", 350_000, "2010104", "", ""),
    ("政协委员履职", "{c}政协办公室", 260_000, "2010204", "", ""),
    ("信访维稳工作经费", "{c}信访局", 500_000, "2010308", "", ""),
    ("审计业务专项", "{c}审计局", 300_000, "2010804", "", ""),
    ("专项统计调查", "{c}统计局", 180_000, "2010507", "", ""),
    ("财政投资评审及预算绩效评价", "{c}财政局", 600_000, "2010608", "", ""),
    ("党员教育培训", "{c}委组织部", 400_000, "2013299", "", ""),
    ("{t}集镇环境整治", "T01", 1_200_000, "2120501", "", ""),
    ("{t}乡村旅游基础设施建设", "T07", 1_000_000, "2070699", "", ""),
    ("{t}村组道路硬化", "T09", 1_300_000, "2130504", "", ""),
)
"""The 99 projects of one county (the report's 县级财力安排项目支出个数)."""

PROTECTED_PROJECTS: Final[dict[str, str]] = {
    # 保基本民生: subsistence guarantees a county must pay whatever the performance scores say
    "城乡最低生活保障县级配套": "basic_livelihood",
    "特困人员救助供养": "basic_livelihood",
    "孤儿和事实无人抚养儿童基本生活保障": "basic_livelihood",
    "残疾人两项补贴": "basic_livelihood",
    # 保工资
    "乡村教师生活补助": "wages",
    # 保运转
    "村级组织运转经费": "operations",
    # 法定支出 (兵役法: 义务兵家庭优待金)
    "义务兵家庭优待金": "statutory",
    "退役军人优抚": "statutory",
    # 上级配套: county shares that upper-level transfers require
    "城乡居民基本医疗保险县级补助": "matching",
    "基本公共卫生服务县级配套": "matching",
    "巩固拓展脱贫攻坚成果衔接资金县级配套": "matching",
}
"""Protected spending (POLICIES.md policy 0) among the catalogue's projects, by name."""

_DEPARTMENT_INDEX: Final[dict[str, int]] = {name: i for i, (name, _) in enumerate(COUNTY_DEPARTMENTS)}

# Public operating (公用经费) and "三公" ranges in 元 by unit size; "T" is a township.
_PUBLIC_OPERATING_RANGE: Final[dict[str, tuple[int, int]]] = {
    "S": (60_000, 300_000),
    "M": (300_000, 900_000),
    "L": (900_000, 2_400_000),
    "T": (700_000, 1_800_000),
}
_THREE_PUBLIC_RANGE: Final[dict[str, tuple[int, int]]] = {
    "S": (20_000, 80_000),
    "M": (60_000, 200_000),
    "L": (150_000, 450_000),
    "T": (80_000, 220_000),
}
_THREE_PUBLIC_SHARE: Final = 0.85
_IDLE_AGE_WEIGHTS: Final = (1, 3, 3, 2, 1)  # years before fiscal_year: 0, 1, 2, 3, 4


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _stream(seed: int, name: str) -> random.Random:
    """Return an independent random stream; string seeds are hashed with SHA-512, so it is stable."""
    return random.Random(f"budget-rules-demo:{seed}:{name}")


def _money(fen: int) -> str:
    """Format an amount in fen (分) as a money string with two decimals, e.g. ``"1200000.00"``."""
    return f"{fen // 100}.{fen % 100:02d}"


@cache
def _score(hundredths: int) -> Score:
    """Return a score given in hundredths as a JSON number: an int when whole, else a short float."""
    value = Decimal(hundredths).scaleb(-2)
    if value == value.to_integral_value():
        return int(value)
    return float(value.normalize())


def _draw_score(rng: random.Random, low: int, high: int) -> Score:
    """Draw a score in [low, high): mostly whole, some halves (78.5), a few with two decimals."""
    mode = rng.random()
    if mode < 0.7:
        return _score(rng.randrange(low, high) * 100)
    if mode < 0.9:
        return _score(rng.randrange(low * 2, high * 2) * 50)
    return _score(rng.randrange(low * 100, high * 100))


def _round_amount(rng: random.Random, yuan: float) -> int:
    """Round a drawn amount to 1,000 or 100 元 (sometimes keep the fen); return it in fen."""
    if rng.random() < 0.08:
        return int(yuan * 100)
    step = 1000 if yuan >= 500_000 else 100
    return max(step, round(yuan / step) * step) * 100


def _ids_width(count: int, minimum: int) -> int:
    """Number of digits for ids numbered 1..count."""
    return max(minimum, len(str(count)))


# --------------------------------------------------------------------------------------------------
# Layout: counties, units and their names
# --------------------------------------------------------------------------------------------------


def county_count(n_projects: int) -> int:
    """Number of counties a request with ``n_projects`` projects models (1 up to 9,600 projects)."""
    return max(1, math.ceil(n_projects / PROJECTS_PER_COUNTY))


def _county_name(index: int) -> str:
    """Name of county ``index``: a Yunnan county, with a number appended after the list runs out."""
    base = YUNNAN_COUNTIES[index % len(YUNNAN_COUNTIES)]
    rounds = index // len(YUNNAN_COUNTIES)
    return base if rounds == 0 else f"{base}{rounds + 1}"


def _synthetic_townships(rng: random.Random) -> tuple[str, ...]:
    """Eleven distinct synthetic township names (7 镇 and 4 乡) for a county other than Wuding."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < COUNTY_TOWNSHIPS:
        stem = rng.choice(_PLACE_HEADS) + rng.choice(_PLACE_TAILS)
        if stem in seen:
            continue
        seen.add(stem)
        names.append(stem + ("镇" if len(names) < 7 else "乡"))
    return tuple(names)


@dataclass(frozen=True)
class _Layout:
    """Where every unit of a request sits, and how its id and name are formed."""

    counties: int
    county_prefixes: tuple[str, ...]
    townships: tuple[tuple[str, ...], ...]
    department_width: int
    township_width: int

    def department_id(self, county: int, local: int) -> str:
        """Id of department ``local`` (0-based) of ``county``, e.g. ``D029``."""
        return f"D{county * len(COUNTY_DEPARTMENTS) + local + 1:0{self.department_width}d}"

    def township_id(self, county: int, local: int) -> str:
        """Id of township ``local`` (0-based) of ``county``, e.g. ``T07``."""
        return f"T{county * COUNTY_TOWNSHIPS + local + 1:0{self.township_width}d}"

    def department_name(self, county: int, local: int) -> str:
        """Name of department ``local`` of ``county``, e.g. 县农业农村局 or 禄丰市农业农村局."""
        return COUNTY_DEPARTMENTS[local][0].replace("{c}", self.county_prefixes[county])


@lru_cache(maxsize=8)
def _layout(n_projects: int, seed: int) -> _Layout:
    """Compute the unit layout of a request with ``n_projects`` projects."""
    counties = county_count(n_projects)
    if counties == 1:
        prefixes: tuple[str, ...] = ("县",)
    else:
        prefixes = tuple(_county_name(c) for c in range(counties))
    rng = _stream(seed, "townships")
    townships = (WUDING_TOWNSHIPS, *(_synthetic_townships(rng) for _ in range(1, counties)))
    return _Layout(
        counties=counties,
        county_prefixes=prefixes,
        townships=townships,
        department_width=_ids_width(counties * len(COUNTY_DEPARTMENTS), 3),
        township_width=_ids_width(counties * COUNTY_TOWNSHIPS, 2),
    )


# --------------------------------------------------------------------------------------------------
# Departments and basic expenditure lines
# --------------------------------------------------------------------------------------------------


def _draw_overall_score(rng: random.Random) -> Score | None:
    """部门整体支出绩效评价得分: mostly 75–90, some ≥ 90, a few lower, a few missing."""
    r = rng.random()
    if r < 0.07:
        return None
    if r < 0.09:
        return 90
    if r < 0.18:
        return _draw_score(rng, 90, 97)
    if r < 0.26:
        return _draw_score(rng, 65, 75)
    return _draw_score(rng, 75, 90)


def _department(unit_id: str, name: str, kind: str, score: Score | None) -> JsonDict:
    """Build one department record, omitting a missing score."""
    record: JsonDict = {"department_id": unit_id, "name": name, "kind": kind}
    if score is not None:
        record["overall_score"] = score
    return record


def generate_departments(n_projects: int = REPORT_PROJECT_COUNT, seed: int = 2021) -> list[JsonDict]:
    """Return the departments and townships of a request: per county, 85 ``D…`` then 11 ``T…``."""
    layout = _layout(n_projects, seed)
    rng = _stream(seed, "departments")
    records: list[JsonDict] = []
    for county in range(layout.counties):
        for local in range(len(COUNTY_DEPARTMENTS)):
            records.append(
                _department(
                    layout.department_id(county, local),
                    layout.department_name(county, local),
                    "department",
                    _draw_overall_score(rng),
                )
            )
        for local, name in enumerate(layout.townships[county]):
            records.append(
                _department(
                    layout.township_id(county, local),
                    name,
                    "township",
                    _draw_overall_score(rng),
                )
            )
    return records


def _unit_sizes(n_projects: int) -> list[str]:
    """Size class of every unit, in the order of :func:`generate_departments`."""
    one_county = [size for _, size in COUNTY_DEPARTMENTS] + ["T"] * COUNTY_TOWNSHIPS
    return one_county * county_count(n_projects)


def _draw_idle(rng: random.Random, requested_fen: int, fiscal_year: int, share: float) -> JsonDict:
    """With probability ``share``, an unspent carried-over balance (结转) and its year; else ``{}``."""
    if rng.random() >= share:
        return {}
    balance = max(1, int(requested_fen * rng.uniform(0.03, 0.35)))
    age = rng.choices(range(len(_IDLE_AGE_WEIGHTS)), weights=_IDLE_AGE_WEIGHTS)[0]
    return {"idle_balance": _money(balance), "idle_since_year": fiscal_year - age}


def _public_operating_line(
    rng: random.Random,
    unit: JsonDict,
    size: str,
    fiscal_year: int,
) -> JsonDict:
    """The unit's 公用经费 line (kind ``public_operating``)."""
    low, high = _PUBLIC_OPERATING_RANGE[size]
    requested = round(rng.uniform(low, high) / 100) * 100 * 100
    line: JsonDict = {
        "project_id": f"B-{unit['department_id']}-GY",
        "department_id": unit["department_id"],
        "name": f"{unit['name']}公用经费",
        "kind": "public_operating",
        "requested": _money(requested),
    }
    if rng.random() < 0.9:
        prior = round(requested * rng.uniform(0.92, 1.06) / 10_000) * 10_000
        line["prior_year_budget"] = _money(prior)
    line.update(_draw_idle(rng, requested, fiscal_year, 0.06))
    return line


def _three_public_line(rng: random.Random, unit: JsonDict, size: str, fiscal_year: int) -> JsonDict:
    """The unit's “三公”经费 line (kind ``three_public``), with last year's budget."""
    low, high = _THREE_PUBLIC_RANGE[size]
    prior = round(rng.uniform(low, high) / 100) * 100 * 100
    r = rng.random()
    if r < 0.55:
        requested = round(prior * rng.uniform(0.85, 0.99) / 10_000) * 10_000
    elif r < 0.75:
        requested = prior
    else:
        requested = round(prior * rng.uniform(1.02, 1.18) / 10_000) * 10_000
    line: JsonDict = {
        "project_id": f"B-{unit['department_id']}-SG",
        "department_id": unit["department_id"],
        "name": f"{unit['name']}“三公”经费",
        "kind": "three_public",
        "requested": _money(requested),
        "prior_year_budget": _money(prior),
    }
    line.update(_draw_idle(rng, requested, fiscal_year, 0.04))
    return line


def iter_basic_lines(
    departments: Sequence[JsonDict],
    n_projects: int = REPORT_PROJECT_COUNT,
    seed: int = 2021,
    fiscal_year: int = 2021,
) -> Iterator[JsonDict]:
    """Yield each unit's 公用经费 line and, for about 85% of units, its “三公”经费 line."""
    rng = _stream(seed, f"basic:{fiscal_year}")
    for unit, size in zip(departments, _unit_sizes(n_projects), strict=True):
        yield _public_operating_line(rng, unit, size, fiscal_year)
        if rng.random() < _THREE_PUBLIC_SHARE:
            yield _three_public_line(rng, unit, size, fiscal_year)


# --------------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------------


def _draw_target_review(rng: random.Random, evaluated: bool) -> Score | None:
    """绩效目标评审得分: ~5% missing, ~8% below 65, a few exactly 65/60/80/90, most 65–95."""
    if evaluated:
        return _draw_score(rng, 75, 96)
    r = rng.random()
    if r < 0.05:
        return None
    if r < 0.13:
        return _draw_score(rng, 40, 65)
    if r < 0.18:
        return rng.choice((65, 60, 80, 90))
    return _draw_score(rng, 65, 96)


def _draw_evaluation(rng: random.Random, evaluated: bool) -> Score | None:
    """Latest evaluation score: present for about half the projects, spread over 差/中/良/优."""
    if evaluated:
        return _draw_score(rng, 85, 97)
    if rng.random() >= 0.5:
        return None
    r = rng.random()
    if r < 0.08:
        return rng.choice((60, 80, 90))
    if r < 0.22:
        return _draw_score(rng, 45, 60)
    if r < 0.45:
        return _draw_score(rng, 60, 80)
    if r < 0.72:
        return _draw_score(rng, 80, 90)
    return _draw_score(rng, 90, 99)


def _qualifier(cycle: int, own_township: bool, townships: Sequence[str]) -> str:
    """Name qualifier for a catalogue entry repeated in a county: "（猫街镇片区）" or "（第3期）"."""
    if cycle == 0:
        return ""
    if own_township:
        return f"（第{cycle + 1}期）"
    area = townships[(cycle - 1) % len(townships)]
    phase = (cycle - 1) // len(townships)
    return f"（{area}片区）" if phase == 0 else f"（{area}片区第{phase + 1}期）"


def _project_owner(layout: _Layout, county: int, owner: str) -> tuple[str, str]:
    """Department id of a catalogue owner in ``county``, and the township name for "{t}"."""
    if owner.startswith("T"):
        local = int(owner[1:]) - 1
        return layout.township_id(county, local), layout.townships[county][local]
    return layout.department_id(county, _DEPARTMENT_INDEX[owner]), ""


def _project(
    rng: random.Random,
    layout: _Layout,
    number: int,
    id_width: int,
    county: int,
    position: int,
    fiscal_year: int,
) -> JsonDict:
    """Build the project line ``number`` (1-based): catalogue entry ``position`` of ``county``."""
    name, owner, base, purpose_code, beneficiary, flags = PROJECT_CATALOGUE[position % len(PROJECT_CATALOGUE)]
    department_id, township = _project_owner(layout, county, owner)
    qualifier = _qualifier(position // len(PROJECT_CATALOGUE), bool(township), layout.townships[county])
    requested = _round_amount(rng, base * rng.uniform(0.85, 1.15))
    requested = min(MAX_PROJECT_FEN, max(MIN_PROJECT_FEN, requested))
    line: JsonDict = {
        "project_id": f"P{number:0{id_width}d}",
        "department_id": department_id,
        "name": name.replace("{t}", township) + qualifier,
        "kind": "project",
        "requested": _money(requested),
    }
    if rng.random() < 0.6:
        line["prior_year_budget"] = _money(round(requested * rng.uniform(0.8, 1.1) / 100_000) * 100_000)
    evaluated = "e" in flags
    target_review = _draw_target_review(rng, evaluated)
    if target_review is not None:
        line["target_review_score"] = target_review
    evaluation = _draw_evaluation(rng, evaluated)
    if evaluation is not None:
        line["evaluation_score"] = evaluation
    line.update(_draw_idle(rng, requested, fiscal_year, 0.18))
    if purpose_code and ("k" in flags or beneficiary or rng.random() < 0.55):
        line["purpose_code"] = purpose_code
        if beneficiary:
            line["beneficiary"] = beneficiary
    if "u" in flags:
        line["urgent"] = True
    if name in PROTECTED_PROJECTS:
        line["protection"] = PROTECTED_PROJECTS[name]
    return line


def iter_projects(
    n_projects: int = REPORT_PROJECT_COUNT,
    seed: int = 2021,
    fiscal_year: int = 2021,
) -> Iterator[JsonDict]:
    """Yield ``n_projects`` project lines ``P0001``… lazily (each county gets a contiguous block)."""
    if n_projects < 0:
        raise ValueError("n_projects must be >= 0")
    layout = _layout(n_projects, seed)
    rng = _stream(seed, f"projects:{fiscal_year}")
    id_width = _ids_width(n_projects, 4)
    number = 0
    for county in range(layout.counties):
        block = (county + 1) * n_projects // layout.counties - county * n_projects // layout.counties
        for position in range(block):
            number += 1
            yield _project(rng, layout, number, id_width, county, position, fiscal_year)


# --------------------------------------------------------------------------------------------------
# Totals, envelope and the request
# --------------------------------------------------------------------------------------------------


def _sum_requested(lines: Iterable[JsonDict]) -> Decimal:
    """Exact sum of the ``requested`` money strings of ``lines``."""
    return sum((Decimal(line["requested"]) for line in lines), Decimal("0.00"))


def projects_total(
    n_projects: int = REPORT_PROJECT_COUNT,
    seed: int = 2021,
    fiscal_year: int = 2021,
) -> Decimal:
    """Sum of ``requested`` over the project lines that these arguments give."""
    return _sum_requested(iter_projects(n_projects, seed, fiscal_year))


def compute_envelope(basic_total: Decimal, projects: Decimal, reference: Decimal) -> Decimal:
    """``basic_total + projects × 147,242,100.00 / reference``, rounded half up to 0.01 元."""
    if reference <= 0:
        return basic_total.quantize(CENT)
    scaled = (projects * REPORT_PROJECT_TOTAL / reference).quantize(CENT, rounding=ROUND_HALF_UP)
    return (basic_total + scaled).quantize(CENT)


def generate_request(
    n_projects: int = REPORT_PROJECT_COUNT,
    seed: int = 2021,
    fiscal_year: int = 2021,
) -> JsonDict:
    """Return a request in the CONTRACT JSON shape with ``n_projects`` project lines.

    The lines are the basic lines (公用经费, “三公”经费) of every unit followed by the projects. The
    envelope follows the module docstring: basic lines plus the projects scaled by the ratio of the
    report's 147,242,100.00 元 to the 99-project total of the same seed and fiscal year.
    """
    departments = generate_departments(n_projects, seed)
    basic = list(iter_basic_lines(departments, n_projects, seed, fiscal_year))
    projects = list(iter_projects(n_projects, seed, fiscal_year))
    project_sum = _sum_requested(projects)
    reference = (
        project_sum if n_projects == REPORT_PROJECT_COUNT else projects_total(REPORT_PROJECT_COUNT, seed, fiscal_year)
    )
    envelope = compute_envelope(_sum_requested(basic), project_sum, reference)
    basic.extend(projects)
    return {
        "fiscal_year": fiscal_year,
        "envelope": str(envelope),
        "ruleset": RULESET,
        "departments": departments,
        "projects": basic,
    }


def generate_disclosure_request(seed: int = 2021, fiscal_year: int = 2021) -> JsonDict:
    """Disclosure records (绩效信息公开) for the 96 units: dates of budget approval, target publication,
    and self-evaluation report forming and publication; most on time, some late, a few missing."""
    rng = _stream(seed, "disclosure")
    records: list[JsonDict] = []
    approved_base = date(fiscal_year, 1, 20)
    for unit in generate_departments(REPORT_PROJECT_COUNT, seed):
        approved = approved_base + timedelta(days=rng.randrange(0, 25))
        record: JsonDict = {
            "department_id": unit["department_id"],
            "name": unit["name"],
            "kind": unit["kind"],
            "budget_approved_on": approved.isoformat(),
        }
        draw = rng.random()
        if draw > 0.04:  # 4 % never publish their targets
            late = draw > 0.85
            days = rng.randrange(21, 45) if late else rng.randrange(3, 21)
            record["targets_disclosed_on"] = (approved + timedelta(days=days)).isoformat()
        formed = date(fiscal_year, 3, 1) + timedelta(days=rng.randrange(0, 60))
        if rng.random() > 0.05:  # most units have formed their self-evaluation report
            record["report_formed_on"] = formed.isoformat()
            draw = rng.random()
            if draw > 0.06:
                days = rng.randrange(21, 60) if draw > 0.88 else rng.randrange(1, 21)
                record["report_disclosed_on"] = (formed + timedelta(days=days)).isoformat()
        records.append(record)
    return {"fiscal_year": fiscal_year, "ruleset": "disclosure-compliance", "departments": records}


def dumps_request(request: JsonDict) -> str:
    """Render a request as canonical JSON text (UTF-8 Chinese, ``indent=1``, final newline)."""
    return json.dumps(request, ensure_ascii=False, indent=1) + "\n"


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m service.demo",
        description="Write a synthetic budget request for a county like 武定县 (deterministic).",
    )
    parser.add_argument("--projects", type=int, default=REPORT_PROJECT_COUNT, help="number of project lines")
    parser.add_argument("--seed", type=int, default=2021, help="random seed")
    parser.add_argument("--fiscal-year", type=int, default=2021, help="fiscal year being compiled")
    parser.add_argument("--output", default="-", help="output file (default: stdout)")
    parser.add_argument("--disclosure", action="store_true", help="write disclosure records instead of budget lines")
    args = parser.parse_args(argv)
    if args.projects < 0:
        parser.error("--projects must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a request and write it as JSON to ``--output`` or stdout."""
    args = _parse_args(argv)
    if args.disclosure:
        text = dumps_request(generate_disclosure_request(args.seed, args.fiscal_year))
    else:
        text = dumps_request(generate_request(args.projects, args.seed, args.fiscal_year))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
