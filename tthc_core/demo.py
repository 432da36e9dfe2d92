"""The demo database: Sở LĐTBXH Lạng Sơn's Q2/2022 report, reproduced, among a few other agencies.

``build_demo(db, today)`` (re)creates a database holding:

- the agency of the reference report (``SLDTBXH``), its nine fields and 109 procedures with the flags
  of domain.md §8 (56 one-stop, 33 inter-connected, 98 postal, 109 online of which 30 level 3 and
  47 level 4, 16 under "4 tại chỗ"), and dossiers from 2021-01-01 to ``today`` such that the report
  period 15/03–14/06/2022 gives exactly the reference figures (3.238 received = 32 online + 2.999
  direct or postal + 207 carried over; 2.525 resolved = 288 early + 2.237 on time + 0 late; 713
  pending, all in time);
- seven other agencies of the province (departments, districts, a commune) with synthetic volumes,
  some late and some never-resolved dossiers, so rankings and comparisons have something to show;
- the report inputs of the reference (simplification 19/32 days, no feedback, a 35.000.000 đ budget);
- what the national sync records carry (dvcqg-sync.md): source status, payment, digitised components,
  e-results, VNeID, applicant type, supplement rounds, progress steps with handling units, a few
  never-accepted, refused and stopped dossiers; and the QĐ 766 catalogue facts of every procedure.

Everything is drawn from one seeded generator: the same ``today`` gives the same database.
"""
from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, select

from .db import get_engine
from .formatting import vietnam_today
from .reports.demo_facts import seed_demo_report
from .models import (Agency, Base, Dossier, Field, FrozenReport, Procedure, ReportInput, Setting,
                     SimplificationReview)
from .store import insert_national_dossiers
from .workdays import WorkCalendar

SEED = 20220614
HISTORY_START = dt.date(2021, 1, 1)
REF_AGENCY = "SLDTBXH"
REF_START, REF_END = dt.date(2022, 3, 15), dt.date(2022, 6, 14)
REF = dict(online=32, offline=2999, carried=207, early=288, on_time=2237, pending=713)

# (field, [(procedure name, authority level, processing days)]) — the sector's catalogue in Lạng Sơn.
P, D, C = "province", "district", "commune"
SLDTBXH_CATALOGUE: list[tuple[str, list[tuple[str, str, int]]]] = [
    ("Người có công", [
        ("Giải quyết chế độ ưu đãi đối với thân nhân liệt sĩ", P, 20),
        ("Cấp giấy chứng nhận thân nhân liệt sĩ", P, 20),
        ("Giải quyết chế độ ưu đãi đối với thương binh", P, 20),
        ("Giám định lại thương tật do vết thương cũ tái phát", P, 30),
        ("Cấp trích lục hồ sơ liệt sĩ, thương binh và người hưởng chính sách như thương binh", P, 10),
        ("Di chuyển hồ sơ khi người hưởng trợ cấp ưu đãi thay đổi nơi thường trú", P, 15),
        ("Giải quyết chế độ đối với người hoạt động kháng chiến bị nhiễm chất độc hóa học", P, 20),
        ("Giải quyết trợ cấp một lần đối với người được cử làm chuyên gia sang giúp Lào, Căm-pu-chia", P, 20),
        ("Hỗ trợ người có công đi làm phương tiện, dụng cụ trợ giúp chỉnh hình", P, 15),
        ("Giải quyết chế độ mai táng phí đối với cựu chiến binh", P, 15),
        ("Thăm viếng mộ liệt sĩ", P, 10),
        ("Di chuyển hài cốt liệt sĩ", P, 10),
        ("Cấp lại Bằng Tổ quốc ghi công", P, 20),
        ("Xác nhận thương binh đối với người bị thương không thuộc lực lượng công an, quân đội", P, 30),
        ("Giải quyết chế độ ưu đãi đối với Bà mẹ Việt Nam anh hùng", P, 20),
        ("Giải quyết chế độ ưu đãi đối với Anh hùng Lực lượng vũ trang nhân dân, Anh hùng Lao động", P, 20),
        ("Giải quyết chế độ ưu đãi đối với người hoạt động cách mạng trước ngày 01 tháng 01 năm 1945", P, 20),
        ("Giải quyết chế độ ưu đãi đối với người hoạt động cách mạng đến ngày khởi nghĩa tháng Tám năm 1945",
         P, 20),
        ("Giải quyết chế độ người hoạt động cách mạng hoặc hoạt động kháng chiến bị địch bắt tù, đày", P, 20),
        ("Giải quyết chế độ người hoạt động kháng chiến giải phóng dân tộc, bảo vệ Tổ quốc", P, 20),
        ("Giải quyết chế độ người có công giúp đỡ cách mạng", P, 20),
        ("Giải quyết trợ cấp tuất hằng tháng khi người có công từ trần", P, 12),
        ("Giải quyết trợ cấp một lần khi người có công từ trần", P, 12),
        ("Cấp giấy giới thiệu đi thăm viếng mộ liệt sĩ và hỗ trợ thăm viếng mộ liệt sĩ", P, 5),
        ("Sửa đổi, bổ sung thông tin cá nhân trong hồ sơ người có công", P, 15),
        ("Hưởng lại chế độ ưu đãi", P, 12),
        ("Giải quyết chế độ đối với thương binh đang hưởng chế độ mất sức lao động", P, 20),
        ("Công nhận và giải quyết chế độ con đẻ của người hoạt động kháng chiến bị nhiễm chất độc hóa học",
         P, 20),
        ("Tiếp nhận người có công vào cơ sở nuôi dưỡng, điều dưỡng người có công", P, 7),
        ("Đưa người có công ra khỏi cơ sở nuôi dưỡng, điều dưỡng người có công", P, 7),
    ]),
    ("Bảo trợ xã hội", [
        ("Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng, hỗ trợ kinh phí chăm sóc, "
         "nuôi dưỡng hằng tháng", C, 20),
        ("Chi trả trợ cấp xã hội hằng tháng khi đối tượng thay đổi nơi cư trú", C, 10),
        ("Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở, sửa chữa nhà ở", C, 8),
        ("Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", C, 5),
        ("Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật", C, 25),
        ("Đổi, cấp lại Giấy xác nhận khuyết tật", C, 5),
        ("Đăng ký hoạt động đối với cơ sở trợ giúp xã hội dưới 10 đối tượng có hoàn cảnh khó khăn", C, 5),
        ("Tiếp nhận đối tượng bảo trợ xã hội có hoàn cảnh đặc biệt khó khăn vào cơ sở trợ giúp xã hội cấp tỉnh",
         P, 15),
        ("Dừng trợ giúp xã hội tại cơ sở trợ giúp xã hội cấp tỉnh", P, 10),
        ("Thành lập cơ sở trợ giúp xã hội công lập thuộc Sở Lao động - Thương binh và Xã hội", P, 20),
        ("Tổ chức lại, giải thể cơ sở trợ giúp xã hội công lập thuộc Sở Lao động - Thương binh và Xã hội",
         P, 20),
        ("Đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập thuộc thẩm quyền của Sở", P, 15),
        ("Đăng ký thay đổi nội dung giấy chứng nhận đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập",
         P, 10),
        ("Cấp giấy phép hoạt động đối với cơ sở trợ giúp xã hội thuộc thẩm quyền của Sở", P, 15),
        ("Cấp lại, điều chỉnh giấy phép hoạt động đối với cơ sở trợ giúp xã hội do Sở cấp", P, 15),
        ("Tiếp nhận đối tượng cần bảo vệ khẩn cấp vào cơ sở trợ giúp xã hội cấp tỉnh", P, 10),
        ("Đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập thuộc thẩm quyền của Phòng LĐTBXH", D, 15),
        ("Cấp giấy phép hoạt động đối với cơ sở trợ giúp xã hội thuộc thẩm quyền của Phòng LĐTBXH", D, 15),
    ]),
    ("Việc làm", [
        ("Giải quyết hưởng trợ cấp thất nghiệp", P, 20),
        ("Tạm dừng hưởng trợ cấp thất nghiệp", P, 10),
        ("Tiếp tục hưởng trợ cấp thất nghiệp", P, 10),
        ("Chấm dứt hưởng trợ cấp thất nghiệp", P, 10),
        ("Chuyển nơi hưởng trợ cấp thất nghiệp (chuyển đi)", P, 10),
        ("Chuyển nơi hưởng trợ cấp thất nghiệp (chuyển đến)", P, 10),
        ("Hỗ trợ học nghề đối với người đang hưởng trợ cấp thất nghiệp", P, 20),
        ("Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", P, 5),
        ("Cấp lại giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", P, 3),
        ("Xác nhận người lao động nước ngoài không thuộc diện cấp giấy phép lao động", P, 5),
        ("Cấp giấy phép hoạt động dịch vụ việc làm của doanh nghiệp hoạt động dịch vụ việc làm", P, 10),
        ("Thông báo về việc tìm kiếm việc làm hằng tháng", P, 5),
    ]),
    ("Giáo dục nghề nghiệp", [
        ("Cấp giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp đối với trung tâm giáo dục nghề nghiệp, "
         "trường trung cấp, doanh nghiệp", P, 10),
        ("Cấp giấy chứng nhận đăng ký bổ sung hoạt động giáo dục nghề nghiệp", P, 10),
        ("Thành lập trung tâm giáo dục nghề nghiệp công lập thuộc tỉnh", P, 20),
        ("Cho phép thành lập trung tâm giáo dục nghề nghiệp tư thục", P, 20),
        ("Thành lập trường trung cấp công lập thuộc tỉnh", P, 20),
        ("Cho phép thành lập trường trung cấp tư thục", P, 20),
        ("Sáp nhập, chia, tách trường trung cấp", P, 20),
        ("Giải thể trường trung cấp", P, 20),
        ("Sáp nhập, chia, tách trung tâm giáo dục nghề nghiệp", P, 20),
        ("Giải thể trung tâm giáo dục nghề nghiệp", P, 20),
        ("Đổi tên trường trung cấp", P, 15),
        ("Đổi tên trung tâm giáo dục nghề nghiệp", P, 15),
        ("Công nhận giám đốc trung tâm giáo dục nghề nghiệp tư thục", P, 10),
        ("Công nhận hiệu trưởng trường trung cấp tư thục", P, 10),
        ("Cấp giấy chứng nhận đăng ký hoạt động liên kết đào tạo với nước ngoài", P, 20),
        ("Chấm dứt hoạt động phân hiệu của trường trung cấp", P, 15),
        ("Cấp lại giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp", P, 5),
        ("Thành lập hội đồng quản trị trường trung cấp tư thục", P, 15),
        ("Thay thế chủ tịch, thư ký, thành viên hội đồng quản trị trường trung cấp tư thục", P, 15),
        ("Công nhận hội đồng quản trị trường trung cấp tư thục", P, 15),
    ]),
    ("An toàn, vệ sinh lao động", [
        ("Cấp giấy chứng nhận đủ điều kiện hoạt động huấn luyện an toàn, vệ sinh lao động hạng A", P, 20),
        ("Gia hạn, sửa đổi, bổ sung, cấp lại giấy chứng nhận đủ điều kiện hoạt động huấn luyện hạng A", P, 15),
        ("Khai báo khi đưa vào sử dụng máy, thiết bị, vật tư có yêu cầu nghiêm ngặt về an toàn lao động", P, 5),
        ("Hỗ trợ chi phí huấn luyện an toàn, vệ sinh lao động cho doanh nghiệp", P, 10),
        ("Hỗ trợ kinh phí khám bệnh nghề nghiệp, chữa bệnh nghề nghiệp cho người lao động", P, 10),
        ("Hỗ trợ chuyển đổi nghề nghiệp cho người bị tai nạn lao động, bệnh nghề nghiệp", P, 10),
        ("Đăng ký doanh nghiệp đủ điều kiện thực hiện hoạt động kiểm định kỹ thuật an toàn lao động", P, 15),
        ("Báo cáo công tác an toàn, vệ sinh lao động", P, 5),
    ]),
    ("Quản lý lao động ngoài nước", [
        ("Đăng ký hợp đồng nhận lao động thực tập thời hạn dưới 90 ngày", P, 5),
        ("Đăng ký hợp đồng cá nhân đi làm việc ở nước ngoài", P, 5),
        ("Hỗ trợ người lao động đi làm việc ở nước ngoài theo hợp đồng", P, 10),
        ("Đăng ký hợp đồng lao động trực tiếp giao kết", P, 5),
        ("Gia hạn, thay đổi nội dung đăng ký hợp đồng cá nhân", P, 5),
        ("Xác nhận người lao động về nước trước hạn", P, 5),
    ]),
    ("Trẻ em", [
        ("Áp dụng biện pháp can thiệp khẩn cấp hoặc tạm thời cách ly trẻ em khỏi môi trường gây tổn hại", D, 1),
        ("Chấm dứt việc chăm sóc thay thế cho trẻ em", D, 10),
        ("Đăng ký nhận chăm sóc thay thế cho trẻ em đối với người không phải là người thân thích", C, 10),
        ("Chuyển trẻ em đang được chăm sóc thay thế tại cơ sở trợ giúp xã hội đến gia đình nhận chăm sóc", D, 10),
        ("Phê duyệt kế hoạch hỗ trợ, can thiệp đối với trẻ em bị xâm hại hoặc có nguy cơ bị bạo lực", D, 5),
        ("Thông báo nhận chăm sóc thay thế cho trẻ em đối với người thân thích của trẻ em", C, 5),
    ]),
    ("Phòng, chống tệ nạn xã hội", [
        ("Cấp giấy phép thành lập cơ sở cai nghiện ma túy tự nguyện", P, 20),
        ("Cấp lại giấy phép hoạt động cai nghiện ma túy tự nguyện", P, 10),
        ("Đăng ký cai nghiện ma túy tự nguyện", C, 3),
        ("Quyết định quản lý cai nghiện ma túy tự nguyện tại gia đình, cộng đồng", D, 5),
    ]),
    ("Lao động - tiền lương", [
        ("Đăng ký nội quy lao động của doanh nghiệp", P, 7),
        ("Đăng ký thỏa ước lao động tập thể", P, 10),
        ("Gửi thang lương, bảng lương, định mức lao động của doanh nghiệp", P, 5),
        ("Báo cáo tình hình thay đổi về lao động", P, 5),
        ("Đăng ký hoạt động cho thuê lại lao động", P, 10),
    ]),
]

# Where the Sở's dossiers come from (share of new dossiers by field), from the report's sector mix.
SLDTBXH_VOLUME = {"Việc làm": 0.55, "Người có công": 0.24, "Bảo trợ xã hội": 0.06, "Giáo dục nghề nghiệp": 0.03,
                  "An toàn, vệ sinh lao động": 0.04, "Quản lý lao động ngoài nước": 0.04,
                  "Lao động - tiền lương": 0.04}
FOUR_ON_SITE_FIELDS = ("Người có công", "Bảo trợ xã hội", "Quản lý lao động ngoài nước", "Việc làm",
                       "An toàn, vệ sinh lao động")


@dataclass(frozen=True)
class OtherAgency:
    code: str
    name: str
    level: str
    parent: str | None
    per_month: int  # new dossiers a month
    late_rate: float
    never_rate: float  # never resolved: these end up overdue
    catalogue: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


OTHER_AGENCIES = (
    OtherAgency("STP", "Sở Tư pháp", "province", None, 130, 0.015, 0.001, (
        ("Lý lịch tư pháp", (("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài", 10),
                             ("Cấp Phiếu lý lịch tư pháp cho cơ quan tiến hành tố tụng", 10))),
        ("Công chứng", (("Đăng ký hoạt động Văn phòng công chứng", 10),
                        ("Bổ nhiệm công chứng viên", 20), ("Đăng ký hành nghề công chứng viên", 5))),
        ("Luật sư", (("Đăng ký hoạt động của tổ chức hành nghề luật sư", 10),)),
        ("Quốc tịch", (("Xác nhận có quốc tịch Việt Nam", 20),)),
    )),
    OtherAgency("SKHDT", "Sở Kế hoạch và Đầu tư", "province", None, 90, 0.01, 0.0005, (
        ("Thành lập và hoạt động của doanh nghiệp", (("Đăng ký thành lập công ty trách nhiệm hữu hạn", 3),
                                                      ("Đăng ký thành lập công ty cổ phần", 3),
                                                      ("Đăng ký thay đổi nội dung đăng ký doanh nghiệp", 3),
                                                      ("Thông báo tạm ngừng kinh doanh", 3))),
        ("Đầu tư tại Việt Nam", (("Quyết định chủ trương đầu tư của UBND cấp tỉnh", 35),
                                 ("Cấp Giấy chứng nhận đăng ký đầu tư", 15))),
    )),
    OtherAgency("SYT", "Sở Y tế", "province", None, 60, 0.06, 0.003, (
        ("Dược phẩm", (("Cấp Chứng chỉ hành nghề dược", 20), ("Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược", 20))),
        ("Khám bệnh, chữa bệnh", (("Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", 20),
                                  ("Cấp giấy phép hoạt động phòng khám chuyên khoa", 30))),
    )),
    OtherAgency("UBND-TPLS", "UBND thành phố Lạng Sơn", "district", None, 160, 0.035, 0.004, (
        ("Hộ tịch", (("Đăng ký kết hôn có yếu tố nước ngoài", 10), ("Thay đổi, cải chính hộ tịch", 3))),
        ("Thành lập và hoạt động của hộ kinh doanh", (("Đăng ký thành lập hộ kinh doanh", 3),)),
        ("Đất đai", (("Đăng ký biến động quyền sử dụng đất", 10), ("Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", 30))),
        ("Xây dựng", (("Cấp giấy phép xây dựng nhà ở riêng lẻ", 15),)),
    )),
    OtherAgency("UBND-CL", "UBND huyện Cao Lộc", "district", None, 120, 0.09, 0.012, (
        ("Hộ tịch", (("Thay đổi, cải chính hộ tịch", 3),)),
        ("Thành lập và hoạt động của hộ kinh doanh", (("Đăng ký thành lập hộ kinh doanh", 3),)),
        ("Đất đai", (("Đăng ký biến động quyền sử dụng đất", 10), ("Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", 30))),
        ("Bảo trợ xã hội", (("Đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập thuộc thẩm quyền của Phòng LĐTBXH", 15),)),
    )),
    OtherAgency("UBND-HL", "UBND huyện Hữu Lũng", "district", None, 100, 0.03, 0.002, (
        ("Hộ tịch", (("Thay đổi, cải chính hộ tịch", 3),)),
        ("Đất đai", (("Đăng ký biến động quyền sử dụng đất", 10),)),
        ("Xây dựng", (("Cấp giấy phép xây dựng nhà ở riêng lẻ", 15),)),
    )),
    OtherAgency("UBND-XHD", "UBND xã Hoàng Đồng", "commune", "UBND-TPLS", 40, 0.02, 0.002, (
        ("Hộ tịch", (("Đăng ký khai sinh", 1), ("Đăng ký kết hôn", 5), ("Đăng ký khai tử", 1))),
        ("Chứng thực", (("Chứng thực bản sao từ bản chính", 1),)),
        ("Bảo trợ xã hội", (("Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", 5),)),
    )),
)

FIELD_ORDER = [f for f, _ in SLDTBXH_CATALOGUE] + [
    "Lý lịch tư pháp", "Công chứng", "Luật sư", "Quốc tịch", "Hộ tịch", "Chứng thực",
    "Thành lập và hoạt động của doanh nghiệp", "Đầu tư tại Việt Nam", "Thành lập và hoạt động của hộ kinh doanh",
    "Đất đai", "Xây dựng", "Dược phẩm", "Khám bệnh, chữa bệnh",
]

# Simplification of the reference report: two commune-level procedures, 19 of 32 days cut (59,38 %).
SIMPLIFICATIONS = (
    ("Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở, sửa chữa nhà ở", 20, 8),
    ("Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", 12, 5),
)
REPORT_INPUTS = {
    "feedback_received": "0", "feedback_handled": "0", "feedback_pending": "0",
    "budget": "35000000", "one_stop_self_score": "18", "one_stop_appraised_score": "",
    "initiatives": "0",
    "notes": "Số liệu TTHC theo thống kê tại trang dichvucong.langson.gov.vn ngày 15/6/2022.",
}


@dataclass
class _Proc:
    id: int
    code: str
    field_id: int
    days: int
    online: bool
    agency_id: int
    level: str


# Fields whose applicants are businesses or organisations rather than citizens (QĐ 766 4.5 counts
# citizen procedures only).
BUSINESS_FIELDS = ("Thành lập và hoạt động của doanh nghiệp", "Đầu tư tại Việt Nam", "Giáo dục nghề nghiệp",
                   "An toàn, vệ sinh lao động", "Lao động - tiền lương", "Dược phẩm", "Công chứng", "Luật sư")


def _qd766_facts(i: int, field: str, online_level: int) -> dict[str, Any]:
    """The catalogue facts QĐ 766 reads (qd766.md §5), drawn plausibly from the procedure's position: most
    procedures free of charge, a paper result for about two in three, publicized within days of the
    publication decision (a few late, a few records with parts missing)."""
    decision = dt.date(2021, 3, 1) + dt.timedelta(days=(37 * i) % 480)
    business = field in BUSINESS_FIELDS
    return dict(
        has_fee=i % 4 == 0, requires_paper_result=i % 3 != 0,
        applicant_types="business,organisation" if business else "citizen" if i % 5 else "citizen,business",
        eligible_full_online=online_level == 4 or i % 7 == 0,
        decision_at=decision, legal_basis_effective_at=decision - dt.timedelta(days=30 + i % 60),
        publicized_at=decision + dt.timedelta(days=2 + (i % 4 if i % 17 else 12)),
        public_parts=7 if i % 13 else 5, time_unit="working_days",
    )


def _national_code(i: int) -> str:
    return f"{1 + i % 2}.{1700 + 37 * i:06d}"


def _work_time(rng: random.Random, day: dt.date) -> dt.datetime:
    """A moment in office hours (07:30–16:59) on ``day``."""
    minutes = rng.randrange(7 * 60 + 30, 17 * 60)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))


class _Builder:
    def __init__(self, conn, today: dt.date):
        self.conn = conn
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(17, 0))
        self.rng = random.Random(SEED)
        self.cal = WorkCalendar()
        self.rows: list[dict[str, Any]] = []
        self.seq: dict[tuple[str, dt.date], int] = {}
        self.field_ids: dict[str, int] = {}

    # --- catalogue -----------------------------------------------------------------------------
    def fields(self) -> None:
        self.conn.execute(Field.__table__.insert(), [{"name": n, "position": i + 1} for i, n in enumerate(FIELD_ORDER)])
        self.field_ids = dict(self.conn.execute(select(Field.name, Field.id)).all())

    def agency(self, code: str, name: str, level: str, parent: str | None = None, default: bool = False) -> int:
        parent_id = self.conn.scalar(select(Agency.id).where(Agency.code == parent)) if parent else None
        return self.conn.execute(Agency.__table__.insert().values(
            code=code, name=name, level=level, parent_id=parent_id, is_default=default)).inserted_primary_key[0]

    def sldtbxh_procedures(self, agency_id: int) -> list[_Proc]:
        flat = [(field, name, level, days) for field, procs in SLDTBXH_CATALOGUE for name, level, days in procs]
        assert len(flat) == 109
        rng = random.Random(SEED + 1)
        order = list(range(109))
        rng.shuffle(order)
        # Flags drawn as exact counts (domain.md §8), spread over the catalogue.
        level4 = set(order[:47])
        level3 = set(order[47:77])
        one_stop = set(order[10:66])
        lien_thong = set(order[66:99])
        not_postal = set(order[98:109])
        four_candidates = [i for i in order if flat[i][0] in FOUR_ON_SITE_FIELDS and flat[i][2] == P]
        four_on_site = set(four_candidates[:16])
        rows = []
        for i, (field, name, level, days) in enumerate(flat):
            online_level = 4 if i in level4 else 3 if i in level3 else 2
            rows.append(dict(
                code=_national_code(i), name=name, agency_id=agency_id, field_id=self.field_ids[field],
                authority_level=level, regulated_by="central", published=True, publicized=True,
                one_stop=i in one_stop, lien_thong=i in lien_thong, postal=i not in not_postal,
                online_level=online_level, online_class={4: "full", 3: "partial"}.get(online_level),
                four_on_site=i in four_on_site, internal_process=i % 9 != 0,
                processing_days=Decimal(days), same_day_cutoff=None, active_from=None, active_to=None,
                **_qd766_facts(i, field, online_level),
            ))
        return self._insert_procedures(rows)

    def other_procedures(self, agency_id: int, spec: OtherAgency, offset: int) -> list[_Proc]:
        rows = []
        i = offset
        for field, procs in spec.catalogue:
            for name, days in procs:
                online_level = (4, 3, 2)[i % 3]
                rows.append(dict(
                    code=_national_code(i), name=name, agency_id=agency_id, field_id=self.field_ids[field],
                    authority_level=spec.level, regulated_by="local" if i % 11 == 0 else "central",
                    published=True, publicized=i % 13 != 0, one_stop=True, lien_thong=i % 4 == 0,
                    postal=i % 5 != 0, online_level=online_level,
                    online_class={4: "full", 3: "partial"}.get(online_level), four_on_site=i % 6 == 0,
                    internal_process=True, processing_days=Decimal(days),
                    same_day_cutoff=dt.time(15, 0) if days <= 1 else None, active_from=None, active_to=None,
                    **_qd766_facts(i, field, online_level),
                ))
                i += 1
        return self._insert_procedures(rows)

    def _insert_procedures(self, rows: list[dict]) -> list[_Proc]:
        self.conn.execute(Procedure.__table__.insert(), rows)
        agency_id = rows[0]["agency_id"]
        found = self.conn.execute(select(Procedure.id, Procedure.code, Procedure.field_id, Procedure.processing_days,
                                         Procedure.online_level, Procedure.authority_level)
                                  .where(Procedure.agency_id == agency_id).order_by(Procedure.id)).all()
        return [_Proc(r.id, r.code, r.field_id, int(r.processing_days), (r.online_level or 0) >= 3, agency_id,
                      r.authority_level) for r in found]

    # --- dossiers ------------------------------------------------------------------------------
    def dossier(self, agency_code: str, agency_id: int, proc: _Proc, received_at: dt.datetime, channel: str,
                resolved_at: dt.datetime | None, status: str = "normal", due_at: dt.datetime | None = None) -> dict:
        day = received_at.date()
        n = self.seq.get((agency_code, day), 0) + 1
        self.seq[(agency_code, day)] = n
        if due_at is None:
            due_at = self.cal.due_date(received_at, proc.days)
        row = dict(code=f"{agency_code}-{day.year % 100:02d}{day.month:02d}{day.day:02d}-{n:04d}", agency_id=agency_id, procedure_id=proc.id,
                   field_id=proc.field_id, channel=channel, status=status, received_at=received_at, due_at=due_at,
                   due_estimated=False, resolved_at=resolved_at, apology_count=0)
        self.rows.append(row)
        return row

    def natural(self, agency_code: str, agency_id: int, procs: list[_Proc], weights: list[float] | None,
                first: dt.date, last: dt.date, per_month: float, late_rate: float, never_rate: float,
                resolve_before: dt.datetime | None = None) -> None:
        """Dossiers received in ``first..last`` with realistic lags, as of ``self.now``.

        ``resolve_before`` forces resolution before a moment (used to close the history before the
        reference quarter so that exactly the designed dossiers are carried over).
        """
        rng = self.rng
        day = first
        per_day = per_month * 12 / 250
        cum_weights = list(itertools.accumulate(weights or [1.0] * len(procs)))
        while day <= last:
            if self.cal.is_working(day):
                online_share = _online_share(day)
                for _ in range(_poisson(rng, per_day)):
                    proc = rng.choices(procs, cum_weights=cum_weights)[0]
                    received = _work_time(rng, day)
                    channel = ("online" if proc.online and rng.random() < online_share
                               else "postal" if rng.random() < 0.04 else "direct")
                    due = self.cal.due_date(received, proc.days)
                    status, resolved = self._lag(received, due, late_rate, never_rate)
                    if resolve_before is not None and (resolved is None or resolved >= resolve_before):
                        resolved = max(received, resolve_before - dt.timedelta(hours=rng.randrange(1, 9)))
                    if resolved is not None and resolved > self.now:
                        resolved = None
                    self.dossier(agency_code, agency_id, proc, received, channel, resolved, status, due)
            day += dt.timedelta(days=1)

    def _lag(self, received: dt.datetime, due: dt.datetime, late_rate: float,
             never_rate: float) -> tuple[str, dt.datetime | None]:
        rng = self.rng
        u = rng.random()
        if u < never_rate:
            return ("suspended" if rng.random() < 0.2 else "normal"), None
        u -= never_rate
        if u < 0.012:  # returned or withdrawn within a few days
            when = self.cal.add_working_days(received.date(), rng.randrange(1, 4))
            return ("returned" if rng.random() < 0.7 else "withdrawn"), _work_time(rng, when)
        u -= 0.012
        if u < late_rate:
            when = self.cal.add_working_days(due.date(), rng.randrange(1, 10))
            return "normal", _work_time(rng, when)
        u -= late_rate
        if u < 0.14 and due.date() > received.date():
            span = (due.date() - received.date()).days
            when = received.date() + dt.timedelta(days=rng.randrange(0, span))
            return "normal", max(received, _work_time(rng, when))
        return "normal", _work_time(rng, due.date())

    def reference_quarter(self, agency_id: int, procs: list[_Proc]) -> None:
        """The dossiers of Sở LĐTBXH's report period 15/03–14/06/2022, built to the reference figures."""
        rng = random.Random(SEED + 2)
        pool, weights = self.sldtbxh_pool(procs)
        start = dt.datetime.combine(REF_START, dt.time())
        cutoff = dt.datetime.combine(REF_END + dt.timedelta(days=1), dt.time())
        q2_days = [d for d in _days(REF_START, REF_END) if self.cal.is_working(d)]

        # 207 carried over: received in the three weeks before the period with a due date inside it.
        long_procs = [p for p in pool if p.days >= 15]
        long_weights = [weights[pool.index(p)] for p in long_procs]
        before = [d for d in _days(dt.date(2022, 3, 1), dt.date(2022, 3, 14)) if self.cal.is_working(d)]
        carried = []
        for _ in range(REF["carried"]):
            proc = rng.choices(long_procs, long_weights)[0]
            carried.append(dict(proc=proc, received=_work_time(rng, rng.choice(before)),
                                channel="postal" if rng.random() < 0.04 else "direct"))

        # 3.031 new: 32 online (on level 3/4 procedures), the rest direct or by public post.
        online_procs = [p for p in pool if p.online]
        new = []
        for i in range(REF["online"] + REF["offline"]):
            online = i < REF["online"]
            proc = rng.choice(online_procs) if online else rng.choices(pool, weights)[0]
            new.append(dict(proc=proc, received=_work_time(rng, rng.choice(q2_days)),
                            channel="online" if online else ("postal" if rng.random() < 0.04 else "direct")))
        for item in carried + new:
            item["due"] = self.cal.due_date(item["received"], item["proc"].days)

        # 713 pending at the cut-off: the new dossiers with the latest due dates; any of them already
        # past due is waiting for the applicant's supplement (suspended), which keeps it in time.
        new.sort(key=lambda item: (item["due"], item["received"]))
        pending, resolved = new[-REF["pending"]:], carried + new[:-REF["pending"]]
        for item in pending:
            item["status"] = "suspended" if item["due"] < dt.datetime.combine(REF_END, dt.time()) else "normal"
            when = max(self.cal.add_working_days(REF_END, rng.randrange(1, 8)),
                       (item["due"] - dt.timedelta(days=rng.randrange(0, 5))).date())
            item["resolved"] = _work_time(rng, when)

        # 2.525 resolved: early exactly 288 (those due after the period must be early), the rest on
        # their due date (or returned / withdrawn, which always count on time).
        forced_early = [it for it in resolved if it["due"].date() > REF_END]
        others = [it for it in resolved if it["due"].date() <= REF_END]
        rng.shuffle(others)
        early = forced_early + others[:REF["early"] - len(forced_early)]
        on_time = others[REF["early"] - len(forced_early):]
        assert len(early) == REF["early"] and len(on_time) == REF["on_time"], (len(forced_early), len(on_time))
        for item in early:
            first = max(item["received"].date(), REF_START)
            last = min(item["due"].date() - dt.timedelta(days=1), REF_END)
            item["status"] = "normal"
            when = first + dt.timedelta(days=rng.randrange(0, (last - first).days + 1))
            item["resolved"] = max(item["received"] + dt.timedelta(minutes=30), _work_time(rng, when))
        for i, item in enumerate(on_time):
            item["status"] = ("returned" if i % 90 == 0 else "withdrawn" if i % 90 == 45 else "normal")
            item["resolved"] = _work_time(rng, item["due"].date())
            item["resolved"] = max(item["resolved"], start, item["received"] + dt.timedelta(minutes=30))
            if item["resolved"].date() > item["due"].date():
                raise AssertionError("on-time dossier resolved after its due date")
        pending_ids = {id(item) for item in pending}
        for item in carried + new:
            assert item["resolved"] >= start and (id(item) in pending_ids) == (item["resolved"] >= cutoff)
            if item["resolved"] > self.now:
                item["resolved"] = None
            self.dossier(REF_AGENCY, agency_id, item["proc"], item["received"], item["channel"],
                         item["resolved"], item["status"], item["due"])

    def sldtbxh_pool(self, procs: list[_Proc]) -> tuple[list[_Proc], list[float]]:
        """The Sở's own (province-level) procedures and their share of its dossiers."""
        name_of = {v: k for k, v in self.field_ids.items()}
        pool = [p for p in procs if p.level == P and name_of[p.field_id] in SLDTBXH_VOLUME]
        per_field = {f: sum(1 for p in pool if name_of[p.field_id] == f) for f in SLDTBXH_VOLUME}
        weights = [SLDTBXH_VOLUME[name_of[p.field_id]] / per_field[name_of[p.field_id]] for p in pool]
        return pool, weights

    # --- the national sync record's fields (dvcqg-sync.md §3) ------------------------------------
    def national_fields(self, ref_id: int) -> None:
        """Give every dossier what a one-stop system's national record carries: the source status, the
        submission time, applicant type, fees and online payment, digitised and re-used components,
        electronic results, VNeID, supplement rounds and, for recent dossiers, progress steps; add a few
        never-accepted and refused records and turn a few resolved dossiers into stopped ones.

        Drawn from a generator of its own, after every dossier is made, so the rows and the reference
        quarter stay exactly as built. Rows of the reference agency that the Q2/2022 report counts keep
        their status, dates and deadline at the cut-off: only their suspended pending dossiers get the
        supplement round that suspended them (requested before the cut-off, supplied after it), which
        keeps them in time under domain.md §4b too.
        """
        rng = random.Random(SEED + 3)
        procs = {r.id: r for r in self.conn.execute(select(Procedure.id, Procedure.code, Procedure.has_fee,
                                                           Procedure.applicant_types, Procedure.field_id,
                                                           Procedure.agency_id))}
        field_of = {v: k for k, v in self.field_ids.items()}
        agency_code = dict(self.conn.execute(select(Agency.id, Agency.code)).all())
        start = dt.datetime.combine(REF_START, dt.time())
        cutoff = dt.datetime.combine(REF_END + dt.timedelta(days=1), dt.time())
        recent = self.now - dt.timedelta(days=120)
        for row in self.rows:
            proc = procs[row["procedure_id"]]
            received, resolved, status = row["received_at"], row["resolved_at"], row["status"]
            online = row["channel"] == "online"
            protected = (row["agency_id"] == ref_id and received < cutoff
                         and (resolved is None or resolved >= start))
            types = proc.applicant_types.split(",")
            row.update(
                procedure_code=proc.code, intake="accepted",
                submitted_at=received - dt.timedelta(minutes=rng.randrange(20, 2000)) if online else received,
                applicant_type=1 if types[0] == "citizen" and (len(types) == 1 or rng.random() < 0.8)
                else 2 if rng.random() < 0.85 else 4,
                result_by_post=row["channel"] == "postal" or rng.random() < 0.02,
                filed_on_national_portal=online and rng.random() < 0.35,
                vneid_authenticated=online and received.date() >= dt.date(2023, 7, 1) and rng.random() < 0.8,
                db_connections="7" if online and rng.random() < 0.6 else None,
            )
            if proc.has_fee:
                row.update(fee_lines=1, fee_total=rng.choice((20_000, 50_000, 100_000, 200_000)),
                           paid_online_via=(rng.choice(("dvcqg", "dvcqg", "local_gateway"))
                                            if online and rng.random() < 0.7 else None))
            components = rng.randrange(1, 5)
            digitised = components if online else sum(
                rng.random() < (0.6 if received.date() >= dt.date(2023, 1, 1) else 0.1) for _ in range(components))
            row.update(components=components, components_digitised=digitised, has_digitised_components=digitised > 0,
                       components_reused=sum(rng.random() < 0.15 for _ in range(digitised)),
                       components_from_store=sum(online and rng.random() < 0.1 for _ in range(digitised)))
            if resolved is not None and status == "normal" and received.date() >= dt.date(2023, 1, 1) \
                    and rng.random() < 0.55:
                row.update(e_results=1, e_result_url=f"https://dichvucong.langson.gov.vn/ket-qua/{row['code']}.pdf")
            # TrangThaiHoSo as the one-stop system would send it (dvcqg-sync.md §4.1; "Trả lại" is a 9, §7.2)
            if status == "withdrawn":
                row["source_status"] = 7
            elif resolved is None:
                row["source_status"] = 5 if status == "suspended" else 4
            elif status == "returned":
                row["source_status"] = 9
            else:
                returned = resolved + dt.timedelta(hours=rng.randrange(1, 30))
                row["source_status"] = 10 if returned <= self.now else 9
                row["result_returned_at"] = returned if returned <= self.now else None
            self._rounds(rng, row, protected, cutoff)
            if protected:
                continue
            if resolved is not None and status == "normal" and rng.random() < 0.003:
                row.update(status="stopped", source_status=8, result_returned_at=None)
            elif resolved is None and status == "normal" and rng.random() < 0.03:
                row.update(withdrawal_requested=True, source_status=7)
            if received >= recent and rng.random() < 0.3:
                self._steps(rng, row, field_of.get(proc.field_id, ""), agency_code[row["agency_id"]])
        self._never_accepted(rng, procs, agency_code)

    def _rounds(self, rng: random.Random, row: dict, protected: bool, cutoff: dt.datetime) -> None:
        """Supplement rounds (DanhSachHoSoBoSung): a suspended dossier's open or closed round, and a
        closed round for a few dossiers resolved after the reference quarter; a closed round moves
        the due date (NgayHenTra holds the new one)."""
        received, resolved, due = row["received_at"], row["resolved_at"], row["due_at"]
        if row["status"] == "suspended":
            latest = min(due, cutoff if protected else self.now) - dt.timedelta(hours=1)
            if latest <= received:
                return
            requested = received + (latest - received) * rng.uniform(0.3, 0.95)
            supplied = None
            if resolved is not None:
                supplied = max(resolved - dt.timedelta(days=rng.randrange(1, 4)), requested + dt.timedelta(hours=2))
                if protected:  # still waiting for the applicant at the cut-off
                    supplied = max(supplied, cutoff + dt.timedelta(hours=9))
                supplied = min(supplied, resolved)
        elif (not protected and resolved is not None and row["status"] == "normal" and received >= cutoff
              and resolved - received >= dt.timedelta(days=4) and rng.random() < 0.04):
            requested = received + (resolved - received) * rng.uniform(0.1, 0.4)
            supplied = min(requested + dt.timedelta(days=rng.randrange(1, 4)), resolved - dt.timedelta(hours=1))
        else:
            return
        due_after = None
        if supplied is not None:  # the old due date plus the time suspended, on a working day (TD's rule a)
            moved = due + (supplied - requested)
            due_after = dt.datetime.combine(self.cal.next_working_day(moved.date()), moved.time())
        row["rounds"] = [dict(requested_at=requested.replace(microsecond=0, second=0),
                              supplied_at=None if supplied is None else supplied.replace(microsecond=0, second=0),
                              due_before=due, due_after=due_after)]
        if due_after is not None:
            row["due_at"] = due_after

    def _steps(self, rng: random.Random, row: dict, field: str, agency: str) -> None:
        """Progress steps (CapNhatTienDoHoSoMC) of a recent dossier: the desk, the department, the head."""
        received, resolved = row["received_at"], row["resolved_at"]
        department = f"Phòng {field}" if agency == REF_AGENCY else "Phòng chuyên môn"
        head = "Lãnh đạo Sở" if agency.startswith("S") else "Lãnh đạo UBND"
        steps = [dict(at=received, status=2, unit="Bộ phận Một cửa", handler="Cán bộ một cửa",
                      content="Tiếp nhận hồ sơ")]
        moved = received + dt.timedelta(hours=rng.randrange(2, 30))
        if moved <= (resolved or self.now):
            steps.append(dict(at=moved, status=4, unit=department, handler="Chuyên viên", content="Thẩm định hồ sơ"))
        if resolved is not None:
            steps.append(dict(at=resolved, status=row["source_status"], unit=head, handler="Lãnh đạo",
                              content="Kết thúc xử lý hồ sơ"))
        row["steps"] = steps

    def _never_accepted(self, rng: random.Random, procs: dict, agency_code: dict[int, str]) -> None:
        """A few records never received (domain.md §4b): filed online and never accepted (1), or refused at
        the desk (3). After the reference quarter, so its figures stay as reported."""
        agencies = sorted(agency_code.items())
        by_agency: dict[int, list[int]] = {}
        for proc in procs.values():
            by_agency.setdefault(proc.agency_id, []).append(proc.id)
        days = [d for d in _days(REF_END + dt.timedelta(days=1), self.today) if self.cal.is_working(d)]
        for n in range(48):
            agency_id, code = agencies[n % len(agencies)]
            proc = procs[rng.choice(sorted(by_agency[agency_id]))]
            moment = _work_time(rng, rng.choice(days))
            refused = n % 2 == 1
            row = self.dossier(code, agency_id, _Proc(proc.id, proc.code, proc.field_id, 1, True, agency_id, P), moment,
                               "online" if not refused else rng.choice(("direct", "online")), None, "normal",
                               due_at=None)
            row.update(intake="refused" if refused else "not_accepted", source_status=3 if refused else 1,
                       procedure_code=proc.code, submitted_at=moment, due_at=None,
                       refused_at=moment + dt.timedelta(hours=rng.randrange(1, 20)) if refused else None)

    def flush(self) -> int:
        count = len(self.rows)
        insert_national_dossiers(self.conn, self.rows)
        self.rows = []
        return count


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _online_share(day: dt.date) -> float:
    """Online filing grew after NĐ 42/2022 and the 2023 push for online public services."""
    if day < dt.date(2022, 7, 1):
        return 0.01
    years = (day - dt.date(2022, 7, 1)).days / 365
    return min(0.75, 0.05 + 0.22 * years)


def _poisson(rng: random.Random, mean: float) -> int:
    # Normal approximation is enough for daily counts of tens; never negative.
    return max(0, round(rng.gauss(mean, mean ** 0.5)))


def build_demo(db: str | Engine | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """(Re)create the demo database at ``db`` and return a short summary."""
    today = today or vietnam_today()
    if today < dt.date(2022, 6, 15):
        raise ValueError("Ngày hiện tại của dữ liệu minh họa phải từ 15/06/2022 trở đi.")
    engine = get_engine(db)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            # data_version keeps counting across rebuilds, so no cache mistakes new data for old.
            conn.execute(delete(table).where(Setting.key != "data_version") if table is Setting.__table__
                         else delete(table))
        b = _Builder(conn, today)
        b.fields()
        ref_id = b.agency(REF_AGENCY, "Sở Lao động - Thương binh và Xã hội", "province", default=True)
        ref_procs = b.sldtbxh_procedures(ref_id)
        pool, weights = b.sldtbxh_pool(ref_procs)
        close_history = dt.datetime.combine(REF_START, dt.time())
        b.natural(REF_AGENCY, ref_id, pool, weights, HISTORY_START, REF_START - dt.timedelta(days=1),
                  1000, 0.01, 0.0, resolve_before=close_history)
        b.reference_quarter(ref_id, ref_procs)
        b.natural(REF_AGENCY, ref_id, pool, weights, REF_END + dt.timedelta(days=1), today, 1000, 0.02, 0.001)
        procedures = len(ref_procs)
        offset = 200
        for spec in OTHER_AGENCIES:
            agency_id = b.agency(spec.code, spec.name, spec.level, spec.parent)
            procs = b.other_procedures(agency_id, spec, offset)
            offset += 50
            procedures += len(procs)
            b.natural(spec.code, agency_id, procs, None, HISTORY_START, today, spec.per_month,
                      spec.late_rate, spec.never_rate)
        b.national_fields(ref_id)
        dossiers = b.flush()
        _report_inputs(conn, ref_id, ref_procs)
        seed_demo_report(conn, ref_id)
        conn.execute(Setting.__table__.insert(), [{"key": "demo", "value": today.isoformat()}])
    return {"agencies": 1 + len(OTHER_AGENCIES), "procedures": procedures, "dossiers": dossiers, "today": today}


def _report_inputs(conn, agency_id: int, procs: list[_Proc]) -> None:
    period_key = "report:2022-Q2"
    codes = dict(conn.execute(select(Procedure.name, Procedure.code).where(Procedure.agency_id == agency_id)).all())
    conn.execute(SimplificationReview.__table__.insert(), [
        dict(agency_id=agency_id, period_key=period_key, procedure_code=codes[name], procedure_name=name,
             authority_level="commune", days_before=Decimal(before), days_after=Decimal(after),
             decision="Quyết định số 797/QĐ-UBND ngày 07/5/2022")
        for name, before, after in SIMPLIFICATIONS
    ])
    conn.execute(ReportInput.__table__.insert(), [
        dict(agency_id=agency_id, period_key=period_key, key=k, value=v) for k, v in REPORT_INPUTS.items()
    ])


def is_demo(db: str | Engine | None = None) -> bool:
    """True when the database was built by :func:`build_demo` (pages say so on every screen)."""
    with get_engine(db).connect() as conn:
        return conn.scalar(select(Setting.value).where(Setting.key == "demo")) is not None


__all__ = ["build_demo", "is_demo", "REF_AGENCY", "FrozenReport", "Dossier"]
