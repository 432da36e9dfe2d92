"""The demo's report facts: the reference report's own (Sở LĐTBXH Lạng Sơn, quý II năm 2022).

The profile (header, signer, focal officers, the plans and decisions it cites) and the Q2/2022
narrative, as the signed report gives them, so the demo draft of that quarter needs no hand edit.
Facts the seed got wrong are not copied (issue 12): it printed "18/18" nowhere but the old demo did —
the seed says only that the self-assessment was rated good, so no score is stored.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from ..formatting import vietnam_now
from ..models import AgencyProfile, ReportInput, ReportNarrative
from .profile import PROVINCE, PROVINCE_RECEIVER

REF_AGENCY = "SLDTBXH"
REF_PERIOD_KEY = "report:2022-Q2"


_UBND = "Ủy ban nhân dân tỉnh Lạng Sơn"
DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "SLDTBXH": {
        "province": "Lạng Sơn", "parent_body": "UBND TỈNH LẠNG SƠN",
        "full_name": "Sở Lao động - Thương binh và Xã hội", "short_name": "Sở", "symbol": "SLĐTBXH",
        "receiving_body": "Văn phòng UBND tỉnh", "place": "Lạng Sơn",
        "signer_authority": "", "signer_title": "GIÁM ĐỐC", "signer_name": "Phạm Đức Huân",
        "focal_officers": ["Ông Phạm Đức Huân, Giám đốc Sở", "Bà Lương Thị Hồng, Công chức Văn phòng Sở"],
        "recipients": ["Văn phòng UBND tỉnh", "Lãnh đạo Sở", "Các phòng và tương đương",
                       "Các đơn vị trực thuộc; Trường CĐN LS", "C, PCVP", "Lưu: VT"],
        "documents": [
            {"role": "direction", "number": "254/KH-UBND", "date": "2021-12-27", "issuer": _UBND,
             "subject": "về hoạt động kiểm soát thủ tục hành chính (TTHC), cải cách thủ tục hành chính, triển khai "
                        "thực hiện cơ chế một cửa, một cửa liên thông trên địa bàn tỉnh năm 2022"},
            {"role": "direction", "number": "28/KH-UBND", "date": "2022-02-11", "issuer": _UBND,
             "subject": "về rà soát, đánh giá thủ tục hành chính năm 2022 trên địa bàn tỉnh Lạng Sơn"},
            {"role": "direction", "number": "03/KH-SLĐTBXH", "date": "2022-01-07", "issuer": "",
             "subject": "về hoạt động kiểm soát thủ tục hành chính, cải cách thủ tục hành chính, triển khai cơ "
                        "chế một cửa, một cửa liên thông năm 2022"},
            {"role": "direction", "number": "19/KH-SLĐTBXH", "date": "2022-02-21", "issuer": "",
             "subject": "về rà soát, đánh giá thủ tục hành chính năm 2022"},
            {"role": "focal", "number": "1230/QĐ-UBND", "date": "2021-06-24", "issuer": _UBND,
             "subject": "về việc thay đổi công chức đầu mối thực hiện nhiệm vụ kiểm soát thủ tục hành chính"},
            {"role": "focal", "number": "90/QĐ-UBND", "date": "2022-01-11", "issuer": _UBND,
             "subject": "về việc thay đổi công chức đầu mối thực hiện nhiệm vụ kiểm soát thủ tục hành chính"},
            {"role": "budget", "number": "20/2013/QĐ-UBND", "date": "2013-08-31", "issuer": _UBND,
             "subject": "về việc quy định mức chi đối với các hoạt động kiểm soát thủ tục hành chính trên địa bàn "
                        "tỉnh Lạng Sơn"},
            {"role": "budget", "number": "738/HDLN-STC-STP", "date": "2021-06-19", "issuer": "",
             "subject": "về việc lập dự toán kinh phí hoạt động kiểm soát thủ tục hành chính hàng năm"},
            {"role": "review", "number": "28/KH-UBND", "date": "2022-02-11", "issuer": _UBND,
             "subject": "về việc rà soát, đánh giá thủ tục hành chính năm 2022 trên địa bàn tỉnh Lạng Sơn"},
            {"role": "four_on_site", "number": "2189/QĐ-UBND", "date": "2021-11-08", "issuer": _UBND,
             "subject": "về việc phê duyệt thay thế danh mục thủ tục hành chính thực hiện tiếp nhận, thẩm định, "
                        "phê duyệt và trả kết quả tại Trung tâm Phục vụ hành chính công tỉnh Lạng Sơn"},
            {"role": "inspection", "number": "18/KH-LĐTĐ", "date": "2022-02-18", "issuer": "",
             "subject": "về kiểm tra việc thực hiện kỷ luật, kỷ cương hành chính năm 2022"},
            {"role": "saturday", "number": "1170/QĐ-UBND", "date": "2020-06-23",
             "issuer": "Chủ tịch Ủy ban nhân dân tỉnh Lạng Sơn", "subject": ""},
        ],
    },
    # The province-wide report: the UBND tỉnh to the Văn phòng Chính phủ. The seed names no signer, so
    # the demo leaves the name for the officer (the page lists it as missing).
    PROVINCE: {
        "province": "Lạng Sơn", "parent_body": "", "full_name": "Ủy ban nhân dân tỉnh Lạng Sơn",
        "short_name": "UBND tỉnh", "symbol": "UBND", "receiving_body": PROVINCE_RECEIVER, "place": "Lạng Sơn",
        "signer_authority": "TM. ỦY BAN NHÂN DÂN", "signer_title": "CHỦ TỊCH",
        "recipients": ["Văn phòng Chính phủ (Cục Kiểm soát TTHC)", "Thường trực Tỉnh ủy", "Thường trực HĐND tỉnh",
                       "Chủ tịch, các PCT UBND tỉnh", "Lưu: VT"],
    },
}



# The Q2/2022 narrative of the seed, section by section; "" = the seed reports nothing there.
DEMO_NARRATIVE: dict[str, str] = {
    "request_document": "Văn bản số 2445/VP-TTPVHCC ngày 03/6/2022 của Văn phòng UBND tỉnh về việc đôn đốc "
                        "thực hiện đánh giá việc giải quyết TTHC, báo cáo công tác kiểm soát TTHC quý II năm 2022",
    "impact_assessment": "Sở chủ động tổ chức thực hiện văn bản quy phạm pháp luật của cơ quan nhà nước cấp trên "
                         "liên quan đến các lĩnh vực của ngành, đồng thời ban hành các văn bản hành chính thông "
                         "thường hướng dẫn các đơn vị, tổ chức cá nhân đến liên hệ công tác thực hiện tốt các văn "
                         "bản quy phạm pháp luật của Trung ương và UBND tỉnh.",
    "simplification_proposals": "Theo kế hoạch đã đề ra, Sở đã có Báo cáo số 113/BC-SLĐTBXH ngày 28/4/2022 về kết "
                                "quả rà soát, đề xuất cắt giảm thời hạn giải quyết thủ tục hành chính năm 2022 và "
                                "trình UBND tỉnh ban hành Quyết định số 797/QĐ-UBND ngày 07/5/2022 phê duyệt Danh "
                                "mục thực hiện cắt giảm thời hạn giải quyết thủ tục hành chính lĩnh vực Bảo trợ xã "
                                "hội thuộc phạm vi quản lý của Sở.",
    "reviews_province": "3", "reviews_district": "3", "reviews_commune": "1",
    "one_stop_decision": "Quyết định số 1517/QĐ-UBND ngày 09/8/2019 của Chủ tịch UBND tỉnh ban hành mẫu phiếu và "
                         "tổ chức thực hiện đánh giá việc giải quyết TTHC theo cơ chế một cửa, một cửa liên thông "
                         "trên địa bàn tỉnh Lạng Sơn",
    "one_stop_evaluation": "Sở đã thực hiện việc gửi kết quả tự chấm điểm, đánh giá việc thực hiện giải quyết thủ "
                           "tục hành chính quý II năm 2022 theo 04 mẫu phiếu về Trung tâm Phục vụ Hành chính công "
                           "tỉnh tổng hợp theo quy định, kết quả tự đánh giá chấm điểm đều xếp loại tốt.",
    "communication": "Tiếp tục phổ biến, đẩy mạnh công tác tuyên truyền các văn bản của Trung ương và của tỉnh đang "
                     "có hiệu lực thi hành đến toàn thể công chức, viên chức, người lao động trong cơ quan thông qua "
                     "các cuộc họp, giao ban, hội nghị, sinh hoạt chi bộ, ngày pháp luật nhằm phổ biến, tuyên truyền "
                     "chủ trương, chính sách pháp luật về kiểm soát TTHC, cải cách TTHC.",
    "initiative_details": "",
    "inspection": "Dự kiến sẽ ban hành Kế hoạch kiểm tra việc thực hiện kiểm soát TTHC và thực hiện kiểm tra theo "
                  "Kế hoạch trong quý III năm 2022.",
    "saturday": "Sở Lao động - Thương binh và Xã hội hiện nay không có TTHC thực hiện việc tiếp nhận và giải quyết "
                "vào buổi sáng thứ bảy hàng tuần tại Trung tâm Phục vụ Hành chính công tỉnh và tại đơn vị.",
    "difficulties": "Là ngành đa lĩnh vực, công tác chuyên môn chiếm rất nhiều thời gian, sự phối hợp của các phòng "
                    "chuyên môn và các thành viên Tổ kiểm soát TTHC của Sở trong thực hiện nhiệm vụ chưa được nhịp "
                    "nhàng; các thành viên làm việc theo chế độ kiêm nhiệm, chưa có thời gian nghiên cứu kỹ các văn "
                    "bản hướng dẫn nên hiệu quả chưa cao.\n"
                    "Việc tiếp nhận và trả kết quả các hồ sơ TTHC trên môi trường mạng (Hệ thống Dịch vụ công trực "
                    "tuyến và một cửa điện tử tỉnh Lạng Sơn, https://dichvucong.langson.gov.vn/) chưa được các phòng "
                    "chuyên môn chú trọng thực hiện đúng quy trình.\n"
                    "Vẫn còn một số hồ sơ thủ tục hành chính được gửi đến theo đường công văn hành chính nên việc "
                    "hướng dẫn tổ chức, cá nhân hoàn thiện, bổ sung thành phần hồ sơ mất nhiều thời gian.",
    "proposals": "",
}


def seed_demo_report(conn, agency_id: int) -> None:
    """The demo's profiles and the reference quarter's narrative, in the demo's own transaction.

    Also clears the old demo's one-stop score of 18 for that quarter: the seed gives no score.
    """
    now = vietnam_now()
    conn.execute(AgencyProfile.__table__.insert(), [
        {"agency_code": code, "data": data, "updated_at": now, "updated_by": "demo"}
        for code, data in DEMO_PROFILES.items()])
    conn.execute(ReportNarrative.__table__.insert(), [
        {"agency_code": REF_AGENCY, "period_key": REF_PERIOD_KEY, "key": key, "value": value,
         "confirmed_at": now, "confirmed_by": "demo"} for key, value in DEMO_NARRATIVE.items()])
    conn.execute(delete(ReportInput).where(ReportInput.agency_id == agency_id,
                                           ReportInput.period_key == REF_PERIOD_KEY,
                                           ReportInput.key == "one_stop_self_score"))
