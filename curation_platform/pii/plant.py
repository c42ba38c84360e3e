"""Planted PII for measuring redaction: valid identifiers of the region (checksums and
structures hold), names and addresses in sentence templates of five languages, and the
look-alike numbers a redactor must leave alone (EAN-13 barcodes, order and invoice
numbers, prices, dates, postcodes, version strings). Random but seeded: the same seed
plants the same values."""

from __future__ import annotations

import random
from typing import Callable

from curation_platform.pii.ids import _MY_PB, _VN_PROVINCES, ean13_ok, nric_ok, thai_id_ok

Rng = random.Random


def _d(rng: Rng, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def thai_id(rng: Rng) -> str:
    while True:
        body = str(rng.randrange(1, 9)) + _d(rng, 11)
        for c in "0123456789":
            if thai_id_ok(body + c):
                d = body + c
                return rng.choice([d, f"{d[0]}-{d[1:5]}-{d[5:10]}-{d[10:12]}-{d[12]}", f"{d[0]} {d[1:5]} {d[5:10]} {d[10:12]} {d[12]}"])


def mykad(rng: Rng) -> str:
    yy, mm, dd = rng.randrange(100), rng.randrange(1, 13), rng.randrange(1, 29)
    pb = rng.choice(sorted(_MY_PB))
    d = f"{yy:02d}{mm:02d}{dd:02d}{pb:02d}{_d(rng, 4)}"
    return rng.choice([f"{d[:6]}-{d[6:8]}-{d[8:]}", f"{d[:6]}-{d[6:8]}-{d[8:]}", d])


def sg_nric(rng: Rng) -> str:
    while True:
        cand = rng.choice("STFGM") + _d(rng, 7)
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if nric_ok(cand + letter):
                return cand + letter


def vn_cccd(rng: Rng) -> str:
    prov = rng.choice(sorted(_VN_PROVINCES))
    century = rng.choice([0, 1, 2, 3])
    yy = rng.randrange(50, 100) if century < 2 else rng.randrange(0, 8)
    return f"{prov:03d}{century}{yy:02d}{_d(rng, 6)}"


def npwp(rng: Rng) -> str:
    d = f"{rng.randrange(1, 100):02d}{_d(rng, 7)}{rng.randrange(1, 1000):03d}{_d(rng, 3)}"
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"


def ph_sss(rng: Rng) -> str:
    return f"{_d(rng, 2)}-{_d(rng, 7)}-{_d(rng, 1)}"


def ph_tin(rng: Rng) -> str:
    return rng.choice([f"{_d(rng, 3)}-{_d(rng, 3)}-{_d(rng, 3)}", f"{_d(rng, 3)}-{_d(rng, 3)}-{_d(rng, 3)}-000"])


def ph_philsys(rng: Rng) -> str:
    return f"{_d(rng, 4)}-{_d(rng, 4)}-{_d(rng, 4)}-{_d(rng, 4)}"


def ph_umid(rng: Rng) -> str:
    return f"{_d(rng, 4)}-{_d(rng, 7)}-{_d(rng, 1)}"


def nik(rng: Rng) -> str:
    day = rng.randrange(1, 29) + (40 if rng.random() < 0.5 else 0)
    return f"{rng.randrange(11, 95):02d}{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}{day:02d}{rng.randrange(1, 13):02d}{rng.randrange(50, 100):02d}{rng.randrange(1, 9999):04d}"


def passport(rng: Rng) -> str:
    return rng.choice("ABCEKLMNPST") + _d(rng, 7) + rng.choice(["", "A", ""])


# type -> (generator, {language: context templates}); `{}` is the value
IDS: dict[str, tuple[Callable[[Rng], str], dict[str, list[str]]]] = {
    "THAI_ID": (thai_id, {"tha": ["เลขบัตรประชาชนของผมคือ {}", "เลขประจำตัวประชาชน {}", "ผู้สมัครแนบสำเนาบัตร เลขที่ {}"],
                          "eng": ["Thai ID {}", "national ID no. {}"]}),
    "MYKAD": (mykad, {"zsm": ["No. KP saya {}", "nombor MyKad {}", "kad pengenalan: {}"], "eng": ["IC number {}", "NRIC (MyKad) {}"]}),
    "SG_NRIC": (sg_nric, {"eng": ["NRIC {}", "my FIN is {}", "IC no. {}"], "zsm": ["No. IC {}"]}),
    "VN_CCCD": (vn_cccd, {"vie": ["Số CCCD của tôi là {}", "căn cước công dân số {}", "số định danh cá nhân {}"]}),
    "NPWP": (npwp, {"ind": ["NPWP saya {}", "Nomor NPWP: {}", "wajib pajak dengan NPWP {}"]}),
    "NIK": (nik, {"ind": ["NIK saya {}", "dengan NIK {}", "Nomor Induk Kependudukan {}"]}),
    "PH_SSS": (ph_sss, {"tgl": ["Ang SSS number ko ay {}", "SSS no. {}"], "eng": ["SSS {}"]}),
    "PH_TIN": (ph_tin, {"tgl": ["Ang TIN ko ay {}", "TIN: {}"], "eng": ["Tax Identification Number {}"]}),
    "PH_PHILSYS": (ph_philsys, {"tgl": ["PhilSys Card Number (PCN): {}", "ang aking PhilID ay {}"], "eng": ["PCN {}"]}),
    "PH_UMID": (ph_umid, {"tgl": ["UMID CRN {}", "ang UMID ko ay {}"], "eng": ["UMID card CRN {}"]}),
    "PASSPORT": (passport, {"ind": ["Nomor paspor saya {}", "paspor {}"], "vie": ["số hộ chiếu {}"], "tha": ["หนังสือเดินทางเลขที่ {}"],
                            "tgl": ["pasaporte {}"], "eng": ["passport number {}"]}),
}

FIRST = ["Budi", "Siti", "Ahmad", "Nurul", "Maria", "Jose", "Nguyễn", "Trần", "Somchai", "Dewi", "Rizal", "Aisyah", "Juan", "Ana"]
LAST = ["Santoso", "Rahayu", "Ismail", "Hassan", "Santos", "Reyes", "Văn An", "Thị Lan", "Wijaya", "Hidayat", "Dela Cruz", "Lim"]
THAI_NAMES = ["สมชาย ใจดี", "สมหญิง รักไทย", "วิชัย ทองดี", "มาลี ศรีสุข", "ประยุทธ มั่นคง"]
NAMES: dict[str, list[str]] = {
    "ind": ["Nama saya {}.", "Paket ini atas nama {}.", "Bapak {} datang kemarin.", "Ibu {} adalah guru kami."],
    "zsm": ["Nama saya {}.", "Encik {} telah tiba.", "Puan {} ialah pengurus kami."],
    "tgl": ["Ang pangalan ko ay {}.", "Si G. {} ay dumating.", "Ako si {}."],
    "vie": ["Tôi tên là {}.", "Anh {} đã đến.", "Chị {} là giáo viên."],
    "tha": ["ผมชื่อ{}", "นาย{}มาถึงแล้ว", "นางสาว{}เป็นครู"],
}
STREETS = ["Merdeka", "Sudirman", "Diponegoro", "Gatot Subroto", "Ampang", "Tun Razak", "Rizal", "Mabini", "Lê Lợi", "Hàng Bài"]
ADDRESSES: dict[str, list[str]] = {
    "ind": ["Jl. {street} No. {n}, Bandung {pc5}", "Jalan {street} No. {n} RT 03 RW 05, Kota Malang {pc5}"],
    "zsm": ["No. {n}, Jalan {street}, Taman Melati, {pc5} Kuala Lumpur", "Lorong {street} {n}, {pc5} Petaling Jaya"],
    "tgl": ["{n} {street} Street, Barangay San Isidro, Quezon City {pc4}", "Brgy. Poblacion, {street} St., Makati {pc4}"],
    "vie": ["Số {n} Phố {street}, Quận Hoàn Kiếm, Hà Nội", "{n} Đường {street}, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"],
    "tha": ["เลขที่ {n} ถนนสุขุมวิท แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร {pc5}", "ตำบลสุเทพ อำเภอเมือง จังหวัดเชียงใหม่ {pc5}"],
}
ADDRESS_INTRO = {"ind": "Alamat saya di {}.", "zsm": "Alamat saya ialah {}.", "tgl": "Nakatira ako sa {}.", "vie": "Địa chỉ của tôi là {}.",
                 "tha": "ที่อยู่ของผมคือ {}"}


def ean13(rng: Rng) -> str:
    while True:
        d = rng.choice(["885", "899", "955", "893", "480"]) + _d(rng, 10)
        if ean13_ok(d):
            return d


LOOKALIKES: dict[str, Callable[[Rng], str]] = {
    "ean13": lambda rng: rng.choice(["Barcode {}", "EAN {}", "{}"]).format(ean13(rng)),
    "order": lambda rng: rng.choice(["No. pesanan {}", "Order #{}", "Mã đơn hàng {}", "invoice {}", "เลขที่คำสั่งซื้อ {}"]).format(_d(rng, rng.choice([10, 12, 13, 15, 16]))),
    "price": lambda rng: rng.choice(["Rp {}.{:03d}.000", "₱{},{:03d}.00", "{}.{:03d}.000 đồng", "฿{},{:03d}", "RM{},{:03d}.50"]).format(rng.randrange(1, 999), rng.randrange(1000)),
    "date": lambda rng: rng.choice(["{:02d}/{:02d}/20{:02d}", "20{2:02d}-{1:02d}-{0:02d}", "{:02d}-{:02d}-20{:02d}"]).format(rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(0, 30)),
    "postcode": lambda rng: rng.choice(["kode pos {}", "poskod {}", "รหัสไปรษณีย์ {}", "{}"]).format(_d(rng, 5)),
    "version": lambda rng: rng.choice(["versi {}.{}.{}", "v{}.{}.{}", "version {}.{}.{}"]).format(rng.randrange(10), rng.randrange(20), rng.randrange(100)),
}
