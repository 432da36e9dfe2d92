"""Bản tin: the user's own digest subscriptions (issue 17), and the one-click unsubscribe from an e-mail.

The unsubscribe link carries a signed token (``tthc_core.digest.unsubscribe_token``): it is handled by
the frame before sign-in, because that one action must work from a phone's mail app without an account
session; the token names one subscription and can do nothing else.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from .. import digest
from ..auth import AccessDenied
from ..formatting import fmt_datetime
from .sidebar import Filters, agency_names

WEEKDAYS = {"0": "Thứ Hai", "1": "Thứ Ba", "2": "Thứ Tư", "3": "Thứ Năm", "4": "Thứ Sáu", "5": "Thứ Bảy",
            "6": "Chủ nhật"}
UNSUBSCRIBE_PARAM = "unsubscribe"


def unsubscribe_requested() -> bool:
    return UNSUBSCRIBE_PARAM in st.query_params


def unsubscribe_view(url: str) -> None:
    """Deactivate the subscription the link's token names; no sign-in needed for this one action."""
    st.title("Hủy nhận bản tin", anchor=False)
    done = digest.unsubscribe(url, st.query_params.get(UNSUBSCRIBE_PARAM, ""))
    if done is None:
        st.error("Liên kết hủy nhận bản tin không hợp lệ hoặc đã hết hiệu lực.", icon=":material/link_off:")
    else:
        st.success(f"Đã hủy nhận bản tin gửi tới {done['target']}. Có thể đăng ký lại ở trang **Bản tin** sau khi "
                   "đăng nhập.", icon=":material/unsubscribe:")


RESULT_KEY = "_digest_result"


def _add(f: Filters, user: str, *values) -> None:
    try:
        digest.subscribe(f.url, user, *values, by=f.access)
    except (digest.DigestError, AccessDenied) as exc:
        st.session_state[RESULT_KEY] = ("error", str(exc))
    else:
        st.session_state[RESULT_KEY] = ("success", f"Đã đăng ký bản tin gửi tới {values[1]}.")


def digest_page(f: Filters) -> None:
    """The signed-in user's subscriptions, a form to add one, and a preview of today's digest."""
    user = f.access.username
    if not user:
        st.info("Bản tin gửi theo tài khoản: hãy đăng nhập để đăng ký nhận bản tin qua thư điện tử hoặc webhook.",
                icon=":material/mail:")
        return
    st.caption("Bản tin gửi mỗi ngày đã chọn sau giờ đã chọn (giờ Việt Nam), nhiều nhất một lần mỗi ngày: hồ sơ quá "
               "hạn, sắp đến hạn, giải quyết quá hạn, chỉ số QĐ 766, đồng bộ dữ liệu, kiểm tra số liệu. Bản tin chỉ "
               "ghi mã hồ sơ, thủ tục và ngày, không ghi thông tin cá nhân của người dân.")
    names = agency_names(f)
    mine = digest.subscriptions(f.url, user)
    st.subheader("Bản tin đang đăng ký", anchor=False)
    if not mine:
        st.write("Chưa đăng ký bản tin nào.")
    for sub in mine:
        left, right = st.columns([5, 1])
        scope = ", ".join(names.get(c, c) for c in sub["agencies"].split(",") if c) or "toàn bộ phạm vi tài khoản"
        days = ", ".join(WEEKDAYS[d] for d in sub["weekdays"])
        left.markdown(f"**{'Thư điện tử' if sub['channel'] == 'email' else 'Webhook'}** {sub['target']} · {scope} · "
                      f"{days} lúc {sub['send_at']}" + ("" if sub["active"] else " · *đã hủy*"))
        if right.button("Xóa", key=f"digest_remove_{sub['id']}"):
            digest.remove(f.url, sub["id"], by=f.access)
            st.rerun()
    st.subheader("Đăng ký mới", anchor=False)
    channel = st.radio("Kênh", digest.CHANNELS, horizontal=True, key="digest_channel",
                       format_func={"email": "Thư điện tử", "webhook": "Webhook (Zalo OA, chat)"}.get)
    target = st.text_input("Địa chỉ thư hoặc địa chỉ webhook (https://…)", key="digest_target",
                           placeholder="vd: lanhdao@langson.gov.vn")
    agencies = st.multiselect("Cơ quan (bỏ trống: toàn bộ phạm vi tài khoản)", list(names), format_func=names.get,
                              key="digest_agencies", placeholder="Toàn bộ phạm vi tài khoản")
    weekdays = st.multiselect("Ngày gửi", list(WEEKDAYS), default=list("01234"), format_func=WEEKDAYS.get,
                              key="digest_weekdays", placeholder="Chọn ngày trong tuần")
    send_at = st.time_input("Giờ gửi", dt.time(7, 30), step=dt.timedelta(minutes=15), key="digest_time")
    sections = st.multiselect("Các mục", list(digest.SECTIONS), default=list(digest.SECTIONS),
                              format_func=digest.SECTION_LABELS.get, key="digest_sections",
                              placeholder="Chọn các mục của bản tin")
    # A callback, not "if st.button(…)": it runs before the script, so a rerun of the frame cannot drop it.
    st.button("Đăng ký", key="digest_add", type="primary", on_click=_add,
              args=(f, user, channel, target, agencies, "".join(weekdays), f"{send_at:%H:%M}", sections))
    if message := st.session_state.pop(RESULT_KEY, None):
        (st.error if message[0] == "error" else st.success)(message[1])
    sent = [d for d in digest.deliveries(f.url, 200) if d["subscription_id"] in {s["id"] for s in mine}][:20]
    if sent:
        st.subheader("Đã gửi gần đây", anchor=False)
        st.dataframe([{"Ngày": d["day"], "Tới": d["target"], "Trạng thái": {"sent": "đã gửi", "failed": "lỗi"}.get(
            d["status"], "đang gửi"), "Quá hạn": d["overdue"], "Sắp đến hạn": d["due_soon"],
            "Xong lúc": fmt_datetime(d["finished_at"]), "Lỗi": d["error"] or ""} for d in sent], hide_index=True)
