"""Thủ tục hành chính: the catalogue section of the report ("công bố, công khai TTHC").

The totals and shares of procedures by mechanism — one-stop, inter-connected one-stop, postal,
online public service by level 3/4 and by toàn trình / một phần (NĐ 42/2022 mapping stated), "4 tại
chỗ" — on the period's last day; the same by field and by authority level; a searchable list.
"""
import streamlit as st

from tthc_core import charts, ui
from tthc_core.formatting import fmt_date, fmt_int, fmt_share

f = ui.filters()

total = ui.catalogue(f)["total"]
n = total["total"]
st.caption(f"Danh mục tại ngày {fmt_date(f.period.end)} (ngày cuối kỳ).")
ui.metric_row([
    ("Thuộc thẩm quyền", fmt_int(n),
     f"Công bố {fmt_int(total['published'])} · công khai {fmt_int(total['publicized'])}"),
    ("Một cửa", fmt_int(total["one_stop"]), f"{fmt_share(total['one_stop'], n)} · liên thông "
                                             f"{fmt_int(total['lien_thong'])}"),
    ("Bưu chính công ích", fmt_int(total["postal"]), fmt_share(total["postal"], n)),
    ("Mức độ 3 / mức độ 4", f"{fmt_int(total['online_level3'])} / {fmt_int(total['online_level4'])}",
     f"Theo NĐ 42/2022: một phần {fmt_int(total['online_partial'])} · toàn trình {fmt_int(total['online_full'])}"),
    ("4 tại chỗ", fmt_int(total["four_on_site"]), fmt_share(total["four_on_site"], n)),
])
st.caption(f"Do Trung ương quy định: {fmt_int(total['central'])} · do địa phương quy định: {fmt_int(total['local'])}"
           f" · có trên Cổng DVC (mọi mức độ): {fmt_int(total['online'])}.")
st.info(ui.ONLINE_MAPPING_NOTE, icon=":material/info:")

by_field = ui.catalogue(f, by="field")
by_level = ui.catalogue(f, by="authority_level")
ui.chart_deck(f, "catalogue", [
    [charts.catalogue_overview(total, f.chart),
     charts.catalogue_by_group(by_level["rows"], f.chart, "Cấp thực hiện", largest_first=False)],
    charts.catalogue_by_group(by_field["rows"], f.chart, "Lĩnh vực"),
])

if f.meeting:
    st.stop()

st.subheader("Theo lĩnh vực", anchor=False)
ui.show_table(ui.catalogue_table(by_field, "Lĩnh vực"))
st.subheader("Theo cấp thực hiện (biểu II.07b)", anchor=False)
ui.show_table(ui.catalogue_table(by_level, "Cấp thực hiện",
                                 keys=("total", "one_stop", "lien_thong", "four_on_site", "internal_process")))

st.subheader("Tra cứu thủ tục", anchor=False)
procedures = ui.procedures(f)
search, field = st.columns([2, 1])
query = search.text_input("Tìm theo mã, tên thủ tục hoặc lĩnh vực", key="tthc_search",
                          placeholder="ví dụ: 1.001776, trợ cấp, ho tich")
fields = sorted({p["field"] for p in procedures})
chosen_fields = field.multiselect("Lĩnh vực", fields, key="tthc_fields", placeholder="Tất cả lĩnh vực")
found = [p for p in ui.search_procedures(procedures, query) if not chosen_fields or p["field"] in chosen_fields]
st.caption(f"{fmt_int(len(found))} / {fmt_int(len(procedures))} thủ tục.")
table = ui.procedure_table(found, with_agency=not f.agency)
ui.show_table(table)
ui.download_csv(table, "Tải danh sách (CSV)", f"danh-muc-tthc_{ui.slug(f)}.csv")
