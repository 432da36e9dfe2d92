"""Workaround: a shared link to an inner page, opened on a freshly started server.

Upstream behaviour (Streamlit 1.67, ``streamlit/runtime/scriptrunner/script_runner.py`` ``_mpa_v1``;
documented at https://docs.streamlit.io/develop/api-reference/navigation/st.navigation — "As soon as any
session of your app executes the st.navigation command, your app will ignore the pages/ directory"):
until some session has run ``st.navigation``, an app with a ``pages/`` folder next to its entry file is
run the legacy way. The first request ``/giai_quyet?…`` then executes ``pages/3_giai_quyet.py`` on its
own, without the frame (no sidebar, no filters). We keep the ``pages/`` folder (the layout the product
asked for), so the page, finding no frame, calls the public ``st.navigation`` with the app's pages —
which switches the legacy mode off for the whole process — and reruns: the frame then resolves the
same URL to the same page.

``tests/test_browser.py::test_shared_link_to_a_page_opens_that_page_on_a_fresh_server`` checks the
server log for :data:`LOG_LINE`: the day a Streamlit upgrade stops the legacy discovery, that test
fails and this module can be deleted.
"""
from __future__ import annotations

import logging
from typing import NoReturn

import streamlit as st

from .navigation import app_pages

log = logging.getLogger(__name__)
LOG_LINE = "page ran outside the frame (legacy pages/ discovery): rerunning inside the frame"


RERUN_FLAG = "_rerun_inside_frame"  # set before the rerun; the frame clears it (no rerun loop)


def rerun_inside_frame() -> NoReturn:
    """Called by a page that runs without the frame around it."""
    if not st.session_state.get(RERUN_FLAG):
        st.session_state[RERUN_FLAG] = True
        log.warning(LOG_LINE)
        st.navigation(app_pages(), position="hidden")
        st.rerun()
    st.error("Trang này cần được mở qua ứng dụng chính: streamlit run dashboard.py", icon=":material/error:")
    st.stop()
