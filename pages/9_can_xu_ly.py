"""Cần xử lý: what needs action now — the overdue dossiers, the longest overdue first, and those due
within the next few working days, with agency, procedure and handling unit; each list as CSV.
"""
from tthc_core import ui

ui.action_lists_page(ui.filters())
