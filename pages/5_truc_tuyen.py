"""Trực tuyến & bưu chính: online public services offered against their actual use, postal use,
and two groups of the QĐ 766/QĐ-TTg index ("tiến độ giải quyết", "dịch vụ công trực tuyến"; all six on
the page "Chỉ số 766").

The reference quarter shows the gap this page is for: 77 procedures at level 3/4, yet 32 online
dossiers out of 3.031 new ones.
"""
import streamlit as st

from tthc_core import charts, stats, ui
from tthc_core.formatting import fmt_int, fmt_percent, fmt_share

f = ui.filters()

index = ui.qd766(f)
total = ui.dossier_stats(f)["dossiers"]["total"]
figures = stats.kpis(total)
catalogue = ui.catalogue(f)["total"]
procedures = ui.procedure_results(f)
offered = [p for p in procedures if stats.offers_online_service(p)]
used = [p for p in offered if p["received_online"]]
cards = [
    ("DVC mức độ 3, 4", fmt_int(len(offered)), f"{fmt_share(len(offered), len(procedures))} của "
                                               f"{fmt_int(len(procedures))} TTHC"),
    ("Trong đó có hồ sơ nộp trực tuyến", fmt_int(len(used)), f"{fmt_share(len(used), len(offered))} số TTHC trực tuyến"),
    ("Hồ sơ mới nộp trực tuyến", fmt_int(total["received_online"]),
     f"{fmt_percent(figures['online_share'])} của {fmt_int(figures['received_new'])} hồ sơ mới"),
    ("Hồ sơ qua bưu chính công ích", fmt_int(total["received_postal"]),
     f"{fmt_percent(figures['postal_share'])} hồ sơ mới · {fmt_int(catalogue['postal'])} TTHC có BCCI"),
]

fields = ui.online_by_field(f)
ui.chart_deck(f, "online", [
    [charts.score_gauges(index, f.chart), charts.channel_donut(total, f.chart)],
    charts.online_gap(fields, f.chart),
    charts.share_bars([{"label": r["label"], "share": r["postal_share"], "part": r["received_postal"],
                        "whole": r["received_new"]} for r in fields], f.chart,
                      "Hồ sơ mới tiếp nhận qua bưu chính công ích theo lĩnh vực (%)", "Lĩnh vực", "postal"),
], lead=lambda _: ui.metric_row(cards))

if f.meeting:
    st.stop()

groups = {g["code"]: g for g in index["groups"]}
st.subheader("Chỉ số QĐ 766/QĐ-TTg", anchor=False)
st.markdown(
    f"Theo cách tính của Cổng DVCQG, {index['period']['label']} (kỳ theo lịch):\n"
    f"- **Tiến độ giải quyết** (2.1: hồ sơ xong hoặc đang giải quyết đúng hạn ÷ hồ sơ tiếp nhận hoặc đang giải "
    f"quyết trong kỳ) = **{charts.fmt_points(groups['TDGQ']['points'])} / 20** điểm.\n"
    f"- **Dịch vụ công trực tuyến** (3.1 + 3.2 + 3.3) = **{charts.fmt_points(groups['CLGQ']['points'])} / 12** điểm.\n"
    "- Cả sáu nhóm, nguồn của từng số liệu và việc cần làm để tăng điểm: trang **Chỉ số 766**."
)
st.info(ui.ONLINE_MAPPING_NOTE, icon=":material/info:")

st.subheader("Theo lĩnh vực", anchor=False)
ui.show_table(ui.online_field_table(fields))

st.subheader("Theo thủ tục", anchor=False)
only_online = st.toggle("Chỉ các TTHC có DVC trực tuyến mức độ 3, 4", value=True, key="tt_only_online")
table = ui.online_procedure_table(ui.procedure_results(f), only_online)
ui.show_table(table)
ui.download_csv(table, "Tải danh sách (CSV)", f"truc-tuyen_{ui.slug(f)}.csv")
