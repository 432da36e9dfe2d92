"""Trực tuyến & bưu chính: online public services offered against their actual use, postal use,
and the QĐ 766/QĐ-TTg sub-scores the data can give ("tiến độ giải quyết", "dịch vụ công trực tuyến").

The reference quarter shows the gap this page is for: 77 procedures at level 3/4, yet 32 online
dossiers out of 3.031 new ones.
"""
import streamlit as st

from tthc_core import charts, stats, ui
from tthc_core.formatting import fmt_int, fmt_percent

f = ui.filters()

scores = ui.qd766(f)
total = ui.dossier_stats(f)["dossiers"]["total"]
figures = stats.kpis(total)
catalogue = ui.catalogue(f)["total"]
ui.metric_row([
    ("DVC mức độ 3, 4", fmt_int(scores["procedures_offered_online"]),
     f"{fmt_percent(scores['share_offered'])} của {fmt_int(scores['procedures_total'])} TTHC"),
    ("Trong đó có hồ sơ nộp trực tuyến", fmt_int(scores["procedures_with_online_dossier"]),
     f"{fmt_percent(scores['share_used'])} số TTHC trực tuyến"),
    ("Hồ sơ mới nộp trực tuyến", fmt_int(total["received_online"]),
     f"{fmt_percent(scores['share_online_dossiers'])} của {fmt_int(figures['received_new'])} hồ sơ mới"),
    ("Hồ sơ qua bưu chính công ích", fmt_int(total["received_postal"]),
     f"{fmt_percent(figures['postal_share'])} hồ sơ mới · {fmt_int(catalogue['postal'])} TTHC có BCCI"),
])

fields = ui.online_by_field(f)
ui.chart_deck(f, "online", [
    [charts.score_gauges(scores, f.chart), charts.channel_donut(total, f.chart)],
    charts.online_gap(fields, f.chart),
    charts.share_bars([{"label": r["label"], "share": r["postal_share"], "part": r["received_postal"],
                        "whole": r["received_new"]} for r in fields], f.chart,
                      "Hồ sơ mới tiếp nhận qua bưu chính công ích theo lĩnh vực (%)", "Lĩnh vực", "postal"),
])

if f.meeting:
    st.stop()

st.subheader("Điểm QĐ 766/QĐ-TTg tính được từ dữ liệu", anchor=False)
st.markdown(
    f"- **Tiến độ giải quyết** = 20 × (trước hạn + đúng hạn) ÷ đã giải quyết = "
    f"**{charts.fmt_points(scores['progress'])} / 20** điểm.\n"
    f"- **Dịch vụ công trực tuyến** = min(2; 2·A ÷ 0,8) + 4·B + min(6; 6·C ÷ 0,5) = "
    f"**{charts.fmt_points(scores['online'])} / 12** điểm, với A = {fmt_percent(scores['share_offered'])} TTHC có "
    f"DVC trực tuyến, B = {fmt_percent(scores['share_used'])} TTHC trực tuyến có hồ sơ trực tuyến, "
    f"C = {fmt_percent(scores['share_online_dossiers'])} hồ sơ mới nộp trực tuyến.\n"
    "- Các nhóm chỉ số khác của QĐ 766 (công khai minh bạch, thanh toán trực tuyến, mức độ hài lòng, số hóa hồ sơ) "
    "không tính được từ dữ liệu hồ sơ."
)
st.info(ui.ONLINE_MAPPING_NOTE, icon=":material/info:")

st.subheader("Theo lĩnh vực", anchor=False)
ui.show_table(ui.online_field_table(fields))

st.subheader("Theo thủ tục", anchor=False)
only_online = st.toggle("Chỉ các TTHC có DVC trực tuyến mức độ 3, 4", value=True, key="tt_only_online")
table = ui.online_procedure_table(ui.procedure_results(f), only_online)
ui.show_table(table)
ui.download_csv(table, "Tải danh sách (CSV)", f"truc-tuyen_{ui.slug(f)}.csv")
