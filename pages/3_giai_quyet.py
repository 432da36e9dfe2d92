"""Giải quyết hồ sơ: the II.06a section of the report, and the dossiers behind each figure.

The form's table (same numbers as the annex and ``python -m tthc_core stats``) by field — or by
agency, procedure or level; received by channel, resolved early / on time / late, pending in time /
overdue, the monthly trend; then the drill-down: pick a cell (or a row and a column) and see the
dossiers counted in it, downloadable as CSV.
"""
import streamlit as st

from tthc_core import charts, stats, ui
from tthc_core.formatting import fmt_int

f = ui.filters()

ui.checks_banner(f)
by = st.segmented_control("Nhóm theo", ["field", "agency", "procedure", "level"], key="gq_by", default="field",
                          format_func=ui.GROUP_TITLES.get, required=True)
result = ui.dossier_stats(f, by=by)
rows, total = result["dossiers"]["rows"], result["dossiers"]["total"]
group_title = ui.GROUP_TITLES[by]

ui.metric_row(ui.dossier_metrics(total))

ui.chart_deck(f, "dossiers", [
    [charts.channels_by_group(rows, f.chart, group_title), charts.channel_donut(total, f.chart)],
    [charts.resolution_by_group(rows, f.chart, group_title), charts.pending_by_group(rows, f.chart, group_title)],
    charts.monthly_trend(ui.monthly_history(f), f.chart, (f.period.start, f.period.end)),
])

if f.meeting:
    st.stop()

st.subheader(f"Biểu II.06a/VPCP/KSTT theo {group_title.lower()}", anchor=False)
st.caption("(3) = (4) + (5) + (6); (7) = (8) + (9) + (10); (11) = (12) + (13). Bấm vào một ô để xem các hồ sơ "
           "được đếm trong ô đó.")
form = ui.form_table(result, by)
columns = ui.form_columns()


def _cell_to_drill_down() -> None:
    """A click on a cell of the table picks that row and column for the drill-down below."""
    cells = st.session_state["gq_table"]["selection"]["cells"]
    if not cells:
        return
    row_index, column = cells[0]
    keys = [r["key"] for r in rows]
    st.session_state["gq_group"] = keys[row_index] if row_index < len(keys) else ""
    st.session_state["gq_count"] = next((k for k, label in columns.items() if label == column), "received_total")


ui.show_table(form, key="gq_table", on_select=_cell_to_drill_down,
              selection_mode="single-cell")
ui.download_csv(form, "Tải biểu II.06a (CSV)", f"bieu-II06a_{ui.slug(f)}.csv")

st.subheader("Hồ sơ sau mỗi con số", anchor=False)
if by == "level":
    st.caption("Danh sách hồ sơ lọc theo lĩnh vực, cơ quan hoặc thủ tục; khi nhóm theo cấp, danh sách gồm mọi cấp.")
groups = {"": "Tổng cộng (mọi dòng)"} | ({} if by == "level" else {r["key"]: r["label"] for r in rows})
pick_group, pick_count = st.columns(2)
group = pick_group.selectbox(f"Dòng ({group_title.lower()})", list(groups), key="gq_group", format_func=groups.get)
row = next((r for r in rows if r["key"] == group), total)
count_key = pick_count.selectbox("Cột (chỉ tiêu)", list(stats.COUNT_KEYS), key="gq_count",
                                 format_func=lambda k: f"{stats.COUNT_LABELS[k]} ({fmt_int(row[k])})")
listed = ui.dossiers(f, count_key, group_by=by if group and by != "level" else None, group_key=group or None)
if row[count_key] > len(listed):
    st.caption(f"Hiển thị {fmt_int(len(listed))} hồ sơ đầu tiên trên {fmt_int(row[count_key])}.")
else:
    st.caption(f"{fmt_int(len(listed))} hồ sơ — {stats.COUNT_LABELS[count_key].lower()}, {groups[group].lower()}.")
table = ui.dossier_table(listed)
ui.show_table(table, key="gq_dossiers")
ui.download_csv(table, "Tải danh sách hồ sơ (CSV)", f"ho-so_{count_key}_{ui.slug(f)}.csv")
