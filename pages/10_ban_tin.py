"""Bản tin: subscribe to the scheduled digest by e-mail or webhook, see what was sent, remove one."""
from tthc_core import ui

ui.digest_page(ui.filters())
