"""Write bench/corpus.jsonl: a seeded, realistic day and a half of records after a storm.

    python bench/make_corpus.py [--seed 7] [--count 400] [-o bench/corpus.jsonl]

Records are in the public JSON form (``fieldkit export``): four hubs, six areas, needs,
offers and notices, ~half with a note in one of six languages (en, es, ht, vi, zh, ar), most
with contact details, shared with helpers or not. Notes are written as residents write
them — short, specific, often without punctuation — and are drawn from a pool, so a record's
note is not tied to its category; the wire codec's dictionary (fieldkit/data/zdict.txt) was
written separately, as vocabulary, not from these sentences.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from fieldkit.core.interchange import iso_ms, parse_iso
from fieldkit.core.refcode import format_code

HUBS = ("3fa9c2d1", "b20e77a4", "5c1d09f3", "e8a4b612")
AREAS = ("riverside", "downtown", "hillside", "north-end", "port", "eastgate")
START = parse_iso("2026-11-18T06:00:00Z")

NEED_NOTES = {
    "en": [
        "Insulin needs to stay cold, our fridge is out since Tuesday.",
        "Two kids and grandma, no drinking water left.",
        "Roof blew off the back bedroom, rain coming in. Need a tarp and someone to help.",
        "My mother uses a wheelchair and we can't get down the stairs, elevator is dead.",
        "Oxygen concentrator needs power a few hours a day",
        "Out of baby formula and diapers (size 4)",
        "Tree on the car, road blocked at the corner of 5th and Elm",
        "Need a ride to dialysis at county hospital tomorrow 7am",
        "Running low on blood pressure pills, pharmacy closed",
        "Basement flooded, need pumps and people with boots",
        "Elderly neighbor alone at #12, hasn't eaten since yesterday",
        "No power, no phone. Please check on us.",
        "Family of 5 sleeping in the car, need somewhere dry",
        "Need clean clothes and blankets for 3 kids",
        "Mold in the walls, asthma getting worse",
        "Can someone translate for my dad at the clinic? He speaks only Creole",
        "Dog food and water for 2 dogs",
        "Generator needs gas, about 5 gallons",
    ],
    "es": [
        "Familia de 6, sin agua potable desde el martes. Dos niños pequeños.",
        "Mi abuela necesita su medicina para la presión, se acabó ayer.",
        "Se cayó parte del techo, necesitamos lonas y ayuda para cubrirlo.",
        "No tenemos luz ni comida caliente, somos 4 adultos y un bebé.",
        "Necesito pañales talla 3 y leche de fórmula",
        "Mi esposo está en silla de ruedas y no podemos salir",
        "La casa se inundó, necesitamos un lugar para dormir esta noche",
        "Necesitamos transporte al hospital para una cita de diálisis",
        "Hay un árbol caído sobre la casa, nadie está herido",
        "Somos 3 familias en una casa, nos falta comida y agua",
        "Mi hijo tiene fiebre desde anoche y no hay clínica abierta",
        "Por favor traigan repelente, hay muchos mosquitos con el agua estancada",
    ],
    "ht": [
        "Nou bezwen dlo pou bwè, nou se 7 moun ak 3 timoun.",
        "Manman m malad, li bezwen medikaman pou tansyon li.",
        "Kay la pa gen do kay ankò, lapli ap antre.",
        "Nou pa gen kouran depi 3 jou, manje a gate.",
        "Tanpri, nou bezwen manje pou timoun yo",
        "Granmoun nan pa ka mache, nou bezwen yon machin pou mennen l lopital",
        "Nou bezwen dra ak rad pou timoun yo, tout bagay mouye",
        "Dlo a antre nan kay la, nou bezwen yon kote pou dòmi",
        "Pitit mwen gen lafyèv, nou bezwen wè yon doktè",
    ],
    "vi": [
        "Nhà tôi có 5 người, cần nước uống và thức ăn.",
        "Mẹ tôi cần thuốc tiểu đường, nhà thuốc đóng cửa.",
        "Mái nhà bị tốc, cần bạt che mưa.",
        "Không có điện từ hôm qua, ông bà lớn tuổi cần giúp đỡ.",
        "Cần sữa bột và tã cho em bé",
        "Nhà bị ngập, cần chỗ ở tạm cho gia đình",
        "Cần người giúp dọn bùn và cây đổ",
        "Bố tôi cần xe đi bệnh viện chạy thận",
    ],
    "zh": [
        "家里五口人，没有饮用水了。",
        "奶奶需要降压药，药店关门了。",
        "屋顶被风吹坏了，需要防水布。",
        "停电三天了，冰箱里的胰岛素要坏了。",
        "需要婴儿奶粉和尿布",
        "房子进水了，今晚需要住的地方",
        "老人行动不便，需要有人帮忙买菜",
        "需要车送病人去医院透析",
    ],
    "ar": [
        "عائلة من ستة أشخاص بدون ماء للشرب منذ يومين.",
        "والدتي تحتاج دواء السكري، الصيدلية مغلقة.",
        "سقف البيت انهار جزئياً ونحتاج غطاء بلاستيك.",
        "لا كهرباء منذ ثلاثة أيام، نحتاج طعام للأطفال.",
        "نحتاج حليب أطفال وحفاضات",
        "البيت غرق بالماء ونحتاج مكان للنوم الليلة",
        "جدي لا يستطيع المشي ويحتاج سيارة إلى المستشفى",
    ],
}

OFFER_NOTES = {
    "en": [
        "I have a pickup truck and a chainsaw, free all weekend",
        "Can cook hot meals for 20 people a day at the church kitchen",
        "Nurse, can do wound care and check blood pressure",
        "Spare generator, can lend it for a few days",
        "Cases of bottled water in my garage, come pick up",
        "Licensed electrician, can check wiring before power comes back",
        "Can watch kids in the afternoons at my place",
        "Have extra blankets, sleeping bags and some kids clothes",
    ],
    "es": [
        "Tengo camioneta, puedo llevar gente o cosas",
        "Puedo cocinar para 15 personas, tengo estufa de gas",
        "Soy enfermera, puedo revisar heridas y medir la presión",
        "Tengo ropa de niños y cobijas para regalar",
    ],
    "ht": [
        "Mwen gen yon machin, mwen ka transpòte moun",
        "Mwen ka kwit manje pou 10 moun chak jou",
        "Mwen se enfimyè, mwen ka ede moun ki blese",
    ],
    "vi": [
        "Tôi có xe tải nhỏ, có thể chở đồ giúp mọi người",
        "Có thể nấu cơm cho 20 người mỗi ngày",
        "Tôi là y tá, có thể giúp sơ cứu",
    ],
    "zh": [
        "我有一辆面包车，可以帮忙运东西",
        "可以每天做饭给二十个人",
        "我是护士，可以帮忙处理伤口",
    ],
    "ar": [
        "عندي سيارة نقل صغيرة ويمكنني المساعدة في النقل",
        "أستطيع طبخ وجبات لعشرين شخصاً يومياً",
        "أنا ممرضة ويمكنني المساعدة في الإسعافات الأولية",
    ],
}

NOTICES = [
    ("water", "Water distribution at St. Mary's parking lot, 2-6 pm daily. Bring containers."),
    ("information", "Boil water order for riverside and port until further notice."),
    ("shelter", "Shelter open at Lincoln High gym, pets allowed, cots for 150."),
    ("food", "Hot meals at the community center 12-2 pm and 5-7 pm."),
    ("power_fuel", "Phone charging station at the fire house, 8 am - 8 pm."),
    ("healthcare", "Mobile clinic at Eastgate library tomorrow 9-4, no ID needed."),
    ("information", "Distribución de agua en la iglesia San José, 2-6 pm."),
    ("shelter", "Refij louvri nan lekòl Lincoln, ou ka vini ak bèt ou."),
    ("information", "Do not drive through flooded streets on the north end."),
]

NAMES = ("Ana", "Jean", "Linh", "Wei", "Fatima", "Marcus", "Rosa", "Pierre", "Thanh", "Mei",
         "Omar", "Dorothy", "Luis", "Marie", "Hoa", "Yusuf", "Keisha", "Carlos")  # fmt: skip
LOCATIONS = ("blue house behind the school", "apt 4B, ring twice", "corner of 5th and Elm",
             "trailer 12 at Palm Court", "green door, next to the church", "",
             "casa amarilla frente al parque", "kay ble a bò legliz la", "")  # fmt: skip
CATEGORY_WEIGHTS = {
    "water": 14, "food": 14, "medication": 8, "medical_supplies": 4, "healthcare": 5,
    "shelter": 8, "power_fuel": 8, "transport": 6, "childcare": 3, "elder_disability_care": 5,
    "hygiene": 5, "clothing_bedding": 5, "repair_cleanup": 9, "skills": 2, "information": 2,
    "other": 2,
}  # fmt: skip
LANG_WEIGHTS = {"en": 35, "es": 25, "ht": 12, "vi": 10, "zh": 9, "ar": 9}


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def make(seed: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    seqs = dict.fromkeys(HUBS, 0)
    t = START
    out: list[dict[str, object]] = []
    for _ in range(count):
        t += int(rng.expovariate(1 / (36 * 3600_000 / count)))
        hub = rng.choice(HUBS)
        seqs[hub] += 1
        kind = rng.choices(("need", "offer", "notice"), (60, 32, 8))[0]
        language = pick(rng, LANG_WEIGHTS)
        note, contact, share = "", {"name": "", "phone": "", "location": ""}, False
        quantity, unit = None, None
        if kind == "notice":
            category, note = rng.choice(NOTICES)
            urgency = "today" if rng.random() < 0.5 else "flexible"
            language = "es" if "agua" in note else "ht" if "Refij" in note else "en"
        else:
            category = pick(rng, CATEGORY_WEIGHTS)
            if kind == "need":
                urgency = rng.choices(("critical", "today", "this_week", "flexible"),
                                      (15, 35, 30, 20))[0]  # fmt: skip
            else:
                urgency = "flexible"
            if rng.random() < 0.5:
                pool = NEED_NOTES if kind == "need" else OFFER_NOTES
                note = rng.choice(pool[language])
            if rng.random() < 0.6:
                quantity = rng.randint(1, 8) if kind == "need" else rng.choice((1, 5, 10, 20, 50))
                unit = "people" if kind == "need" else "units"
            if rng.random() < 0.85:
                share = rng.random() < (0.55 if kind == "need" else 0.9)
                contact = {
                    "name": rng.choice(NAMES),
                    "phone": rng.choice(("555 01", "(555) 01", "+1 305 555 0"))
                    + str(rng.randint(10, 99)),
                    "location": rng.choice(LOCATIONS) if kind == "need" else "",
                }
        status, message = "open", ""
        if rng.random() < 0.08:
            status = rng.choice(("matched", "fulfilled"))
            message = rng.choice(("Pick up at St. Mary's 2-6 pm", "A volunteer is on the way",
                                  "Delivered, thank you", ""))  # fmt: skip
        out.append({
            "id": f"{hub}-{seqs[hub]}", "hub": hub, "kind": kind, "status": status,
            "status_message": message, "created_at": iso_ms(t), "category": category,
            "urgency": urgency, "quantity": quantity, "quantity_unit": unit,
            "area": rng.choice(AREAS), "note": note, "language": language,
            "ref": format_code(rng.getrandbits(30)), "share_contact": share, "contact": contact,
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("-o", "--output", default=str(Path(__file__).with_name("corpus.jsonl")))
    args = parser.parse_args()
    lines = [json.dumps(r, ensure_ascii=False) for r in make(args.seed, args.count)]
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} records to {args.output}")


if __name__ == "__main__":
    main()
