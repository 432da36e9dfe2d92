"""Chỉ số 766: the QĐ 766/QĐ-TTg index the province is ranked on every month — total /100, each group
against its maximum, the agencies ranked, the monthly trend, what would raise it, and for each
sub-indicator the procedures or dossiers behind its numerator and denominator.

Always calendar periods (the national convention), whatever the sidebar's mode.
"""
import streamlit as st

from tthc_core import charts, qd766, ui
from tthc_core.ui import index766 as q
from tthc_core.formatting import fmt_decimal

f = ui.filters()
result = q.index(f)
period = q.calendar_period(f.period)

ui.metric_row([
    ("Tổng điểm", f"{fmt_decimal(result['total'])}/100", f"Xếp loại: {result['grade']}"),
    *[(g["title"], f"{fmt_decimal(g['points'])}/{fmt_decimal(g['max'])}",
       f"chờ số liệu: {', '.join(w.split(':')[0] for w in g['waiting_for'])}" if g["waiting_for"] else None)
      for g in result["groups"]],
], per_row=4)

ui.chart_deck(f, "qd766", [
    [charts.qd766_groups(result, f.chart), charts.qd766_trend(q.trend(f), f.chart)],
    charts.qd766_ranking(result["ranking"], f.chart),
])

if f.meeting:
    st.stop()

st.caption(f"{period.label} · theo lịch (cách tính của Cổng DVCQG) · bảng điểm áp dụng từ "
           f"{result['rules_version']:%d/%m/%Y}. Điểm mỗi chỉ số làm tròn 2 chữ số; điểm nhóm là tổng các "
           "chỉ số đã làm tròn.")

st.subheader("Việc cần làm để tăng điểm", anchor=False)
q.hint_list(result)

st.subheader("Các chỉ số thành phần", anchor=False)
table = q.indicator_table(result)
ui.show_table(table, text_columns=["Mã", "Nhóm", "Chỉ số", "Nguồn", "Ghi chú"])
ui.download_csv(table, "Tải bảng chỉ số (CSV)", f"chi-so-766_{ui.slug(f)}.csv", key="qd766_csv")

st.subheader("Xếp hạng đơn vị", anchor=False)
ui.show_table(q.ranking_table(result["ranking"]), text_columns=["Đơn vị", "Xếp loại"])

st.subheader("Hồ sơ, thủ tục sau mỗi chỉ số", anchor=False)
choices = [p["id"] for p in result["indicators"] if p["id"] not in ("CT", "2.2")]
chosen = st.selectbox("Chỉ số", choices, format_func=lambda k: f"{k} — {qd766.BY_ID[k].title}", key="qd766_item")
rows = q.items(f, chosen)
if rows:
    frame = q.items_table(rows)
    only_out = st.toggle("Chỉ những mục chưa thuộc tử số", value=True, key="qd766_only_out")
    shown = frame[frame["Thuộc tử số"] == "Không"] if only_out else frame
    ui.show_table(shown, text_columns=[c for c in shown.columns if c not in ("Lần bổ sung", "Hồ sơ trong kỳ")])
    ui.download_csv(shown, "Tải danh sách (CSV)", f"chi-so-766_{chosen}_{ui.slug(f)}.csv", key="qd766_items_csv")
else:
    st.info("Không có mục nào trong mẫu số của chỉ số này trong kỳ (hoặc chỉ số lấy từ số liệu nhập tay).")

q.input_form(f)
q.rules_admin(f)
