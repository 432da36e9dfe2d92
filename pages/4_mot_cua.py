"""Một cửa & 4 tại chỗ: the procedures handled through the one-stop desk, the inter-connected
one-stop chain and "4 tại chỗ" (received, appraised, approved and returned on the spot), and how the
dossiers filed under them fared in the period.
"""
import streamlit as st

from tthc_core import charts, stats, ui
from tthc_core.formatting import fmt_int, fmt_percent

f = ui.filters()

mechanisms = ui.mechanism_results(f)
ui.metric_row([
    (f"{m['label']}: {fmt_int(m['procedures'])} TTHC", fmt_int(m["received_total"]),
     f"hồ sơ tiếp nhận · đúng hạn {fmt_percent(stats.kpis(m)['on_time_rate'])} · đang quá hạn "
     f"{fmt_int(m['pending_overdue'])}")
    for m in mechanisms
])

results = ui.procedure_results(f)
tabs = {key: [r for r in results if r[key]] for key in stats.MECHANISMS}
busiest = {key: sorted(members, key=lambda r: r["received_total"], reverse=True) for key, members in tabs.items()}
ui.chart_deck(f, "one_stop", [
    charts.outcomes_by_group(mechanisms, f.chart, "Kết quả giải quyết hồ sơ theo cơ chế thực hiện (hồ sơ)",
                             "Cơ chế"),
    charts.outcomes_by_group([{**r, "label": r["name"]} for r in busiest["four_on_site"]], f.chart,
                             "Hồ sơ của các TTHC thực hiện 4 tại chỗ (hồ sơ)", "Thủ tục"),
])

if f.meeting:
    st.stop()

st.subheader("Danh sách thủ tục và kết quả giải quyết", anchor=False)
for tab, key in zip(st.tabs([f"{label} ({fmt_int(len(tabs[key]))})" for key, label in stats.MECHANISMS.items()]),
                    stats.MECHANISMS):
    with tab:
        table = ui.procedure_table(busiest[key], with_counts=True, with_agency=not f.agency)
        ui.show_table(table, key=f"mc_{key}")
        ui.download_csv(table, "Tải danh sách (CSV)", f"{key}_{ui.slug(f)}.csv", key=f"mc_dl_{key}")
