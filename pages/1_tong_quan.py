"""Tổng quan: what a director must see in five seconds.

Five KPI cards (received, resolved, on-time rate, overdue now, online share) against the previous
period with a sparkline of the last six, and the dossiers due soon; the warning banner when the
figures break an identity; the "cần xử lý" panel; the league of agencies — or of the chosen agency's
fields — with the one dragging most on top.
"""
import streamlit as st

from tthc_core import charts, ui

f = ui.filters()

ui.checks_banner(f)

league = ui.league_rows(f)
group_title = ui.GROUP_TITLES[f.league_by]
ui.chart_deck(f, "overview", [
    charts.league(league, f.chart, group_title),
    [charts.outcome_donut(ui.dossier_stats(f)["dossiers"]["total"], f.chart),
     charts.monthly_trend(ui.monthly_history(f), f.chart, (f.period.start, f.period.end))],
], lead=ui.kpi_cards)

if not f.meeting:
    ui.qd766_panel(f)  # what would raise the QĐ 766 score most, for the director

if f.meeting:
    st.stop()  # meeting mode: one idea per screen; the tables are for the desk

ui.action_panel(f)

st.subheader(f"Xếp hạng theo {group_title.lower()}", anchor=False)
st.caption("Sắp theo tỷ lệ đúng hạn tăng dần, rồi số hồ sơ đang quá hạn giảm dần: đơn vị cần quan tâm ở trên cùng.")
ui.show_table(ui.league_table(league, group_title))
