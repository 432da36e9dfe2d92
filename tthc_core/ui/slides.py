"""Charts, and the meeting-mode slideshow (one idea per screen, ◀ Trước / Sau ▶)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import plotly.graph_objects as go
import streamlit as st

from .sidebar import Filters

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
                 "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "bieu-do-tthc"}}


def chart(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, theme=None)


def chart_deck(f: Filters, key: str, layout: Sequence[go.Figure | Sequence[go.Figure]],
               lead: Callable[[Filters], None] | None = None) -> None:
    """The page's charts, after an optional ``lead`` (e.g. the KPI cards).

    Normally laid out as given: each item a full-width figure or a row of figures side by side. In
    meeting mode, one idea per screen: the lead, then each figure, with ◀ Trước / Sau ▶.
    """
    rows = [list(item) if isinstance(item, (list, tuple)) else [item] for item in layout]
    figures = [fig for row in rows for fig in row]
    if not f.meeting:
        if lead is not None:
            lead(f)
        n = 0
        for row in rows:
            for column, fig in zip(st.columns(len(row), gap="medium") if len(row) > 1 else [st.container()], row):
                with column:
                    chart(fig, key=f"{key}_{n}")
                n += 1
        return
    slides: list[Any] = ([lead] if lead is not None else []) + figures
    if not slides:
        return
    state_key = f"_deck_{key}"
    index = st.session_state.get(state_key, 0) % len(slides)

    def move(step: int) -> None:
        st.session_state[state_key] = (index + step) % len(slides)

    left, middle, right = st.columns([1, 4, 1], vertical_alignment="center")
    left.button("◀ Trước", key=f"{key}_prev", on_click=move, args=(-1,), width="stretch")
    middle.markdown(f"<p style='text-align:center'>Màn hình <b>{index + 1}</b> / {len(slides)}</p>",
                    unsafe_allow_html=True)
    right.button("Sau ▶", key=f"{key}_next", on_click=move, args=(1,), width="stretch")
    slide = slides[index]
    if isinstance(slide, go.Figure):
        chart(slide, key=f"{key}_slide")
    else:
        slide(f)
