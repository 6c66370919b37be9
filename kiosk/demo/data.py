"""Deterministic demo data, safe to load any number of times.

Township names are the public administrative divisions named in DOMAIN.md.
Village names and deputies' names are generated from a fixed seed: they are
not real places or people. Phone numbers are not dialable (a Chinese local
number never starts with 0 after the area code).
"""

import random
from dataclasses import dataclass

# (name, kind, code prefix)
TOWNSHIPS = [
    ("罗城街道", "街道", "LC"),
    ("素龙街道", "街道", "SL"),
    ("附城街道", "街道", "FC"),
    ("双东街道", "街道", "SD"),
    ("罗镜镇", "镇", "LJ"),
    ("太平镇", "镇", "TP"),
    ("分界镇", "镇", "FJ"),
    ("罗平镇", "镇", "LP"),
    ("船步镇", "镇", "CB"),
    ("朗塘镇", "镇", "LT"),
    ("围底镇", "镇", "WD"),
    ("华石镇", "镇", "HS"),
    ("榃滨镇", "镇", "TB"),
    ("黎少镇", "镇", "LS"),
    ("生江镇", "镇", "SJ"),
    ("连州镇", "镇", "LZ"),
    ("泗纶镇", "镇", "SN"),
    ("加益镇", "镇", "JY"),
    ("龙湾镇", "镇", "LW"),
    ("苹塘镇", "镇", "PT"),
    ("金鸡镇", "镇", "JJ"),
]

STATION_COUNT = 59
POINT_COUNT = 156
DEPUTY_COUNT = 1221

# (code, name, icon, working days to answer)
CATEGORIES = [
    ("road", "道路交通", "road", 15),
    ("water", "农田水利", "water", 15),
    ("environment", "环境卫生", "leaf", 10),
    ("edu-health", "教育医疗", "school", 15),
    ("welfare", "社会保障", "shield", 15),
    ("jobs", "就业创业", "briefcase", 15),
    ("mediation", "治安调解", "handshake", 10),
    ("village", "村务管理", "house", 15),
    ("other", "其他", "dots", 15),
]

SURNAMES = "陈李黄梁林张何罗吴刘邓叶谭彭冯苏曾潘赖欧钟卢麦杨蔡周莫余郑"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰金凤建国志红梅德荣少坚汉文锦辉健燕冰雪海宁"
VILLAGE_FIRST = "大小新上下东西南北石竹松水龙凤金榕禾坑岗塘"
VILLAGE_SECOND = "村塘岗坪垌田湾坑寨围坡洞"
OCCUPATIONS = ["村党支部书记", "村委会主任", "种养大户", "个体工商户", "乡村教师", "乡村医生", "企业职工", "退休干部"]


@dataclass(frozen=True)
class DemoStation:
    code: str
    name: str
    level: str
    township: str


@dataclass(frozen=True)
class DemoDeputy:
    id: int
    name: str
    township: str
    occupation: str
    station_codes: tuple[str, ...]


def _spread(total: int, buckets: int) -> list[int]:
    """``total`` split over ``buckets`` as evenly as whole numbers allow."""
    base, extra = divmod(total, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def office_phone(index: int) -> str:
    return f"0766-0000{index + 1:03d}"


def stations() -> list[DemoStation]:
    rng = random.Random(2019)
    result = []
    villages_used: set[str] = set()
    per_township_stations = _spread(STATION_COUNT, len(TOWNSHIPS))
    per_township_points = _spread(POINT_COUNT, len(TOWNSHIPS))
    for (township, _kind, prefix), n_stations, n_points in zip(
        TOWNSHIPS, per_township_stations, per_township_points
    ):
        result.append(DemoStation(f"{prefix}00", f"{township}人大代表中心联络站", "center", township))
        for i in range(n_stations):
            village = _village(rng, villages_used)
            result.append(DemoStation(f"{prefix}{i + 1:02d}", f"{village}人大代表联络站", "station", township))
        for i in range(n_points):
            village = _village(rng, villages_used)
            result.append(DemoStation(f"{prefix}{51 + i:02d}", f"{village}人大代表联络点", "point", township))
    return result


def _village(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(VILLAGE_FIRST) + rng.choice(VILLAGE_FIRST) + rng.choice(VILLAGE_SECOND)
        if name not in used:
            used.add(name)
            return name


@dataclass(frozen=True)
class DemoDepartment:
    township: str
    name: str
    contact_person: str
    contact_phone: str


# A township's own offices, where a street light or a village drain goes (镇 or 街道 in front).
OWN_OFFICES = ["村建办", "农业农村办"]
VILLAGE_STATION = "人大代表联络"


def township_departments(all_stations: list[DemoStation]) -> list[DemoDepartment]:
    """Each township's own departments: its offices, its 派出所, and a 村委会 for each village it has a station in."""
    result = []
    for index, (township, kind, _prefix) in enumerate(TOWNSHIPS):
        names = [kind + office for office in OWN_OFFICES] + ["派出所"]
        for station in all_stations:
            if station.township == township and station.level != "center":
                village = station.name.partition(VILLAGE_STATION)[0]
                names.append(village + ("委会" if village.endswith("村") else "村委会"))
        for n, name in enumerate(names):
            result.append(DemoDepartment(township, name, "办公室", f"0766-38{index:02d}{n:03d}"))
    return result


def deputies(all_stations: list[DemoStation]) -> list[DemoDeputy]:
    """1,221 deputies, each attached to their township's centre and one other station."""
    rng = random.Random(1221)
    by_township: dict[str, list[DemoStation]] = {}
    for station in all_stations:
        by_township.setdefault(station.township, []).append(station)
    result = []
    next_id = 1
    for (township, _kind, _prefix), count in zip(TOWNSHIPS, _spread(DEPUTY_COUNT, len(TOWNSHIPS))):
        local = by_township[township]
        centre = local[0]
        others = local[1:]
        for i in range(count):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            home = others[i % len(others)]
            # Every centre shows a handful of deputies on duty, not all 58.
            codes = (centre.code, home.code) if i < 8 else (home.code,)
            result.append(DemoDeputy(next_id, name, township, rng.choice(OCCUPATIONS), codes))
            next_id += 1
    return result
