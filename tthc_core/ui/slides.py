"""Charts, and the meeting-mode slideshow for a wall (issue 13 item 1).

Meeting mode shows one idea per screen — the page's cards, then each chart — sized to the screen
(the slide fills the window under the title, at 1920×1080 and at 1280×720 alike), driven by the
buttons, by a presenter's clicker (→ ← PageDown PageUp Space) and optionally by a timer.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import plotly.graph_objects as go
import streamlit as st

from .sidebar import ADVANCE_KEY, Filters

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
                 "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "bieu-do-tthc"}}
NEXT, PREVIOUS = "Sau ▶", "◀ Trước"
SLIDE_KEY = "meeting_slide"  # the container of the slide; frame.MEETING_CSS sizes it to the window

# A clicker sends → / PageDown / Space for "next" and ← / PageUp for "previous". The listener lives
# in the page itself (added once) and clicks the deck's own buttons, so the server keeps the slide
# index; keys typed into a field are left alone, and nothing is prevented on a page without a deck.
KEYBOARD_JS = """
<script>
(function () {
  const win = window, doc = document;
  win.__tthcClick = function (label) {
    const button = [...doc.querySelectorAll('[data-testid="stMainBlockContainer"] button')]
      .find(b => b.innerText.trim() === label);
    if (!button) return false;
    button.click();
    if (doc.activeElement) doc.activeElement.blur();  // a focused button must not take the key again
    return true;
  };
  if (!win.__tthcDeckKeys) {
    win.__tthcDeckKeys = true;
    doc.addEventListener('keydown', function (e) {
      const t = e.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
      const label = ['ArrowRight', 'PageDown', ' '].includes(e.key) ? '%(next)s'
                  : ['ArrowLeft', 'PageUp'].includes(e.key) ? '%(previous)s' : null;
      if (label && win.__tthcClick(label)) e.preventDefault();
    }, true);
  }
  // Auto-advance: a slide stays %(seconds)d s once drawn. Counted from the end of the run that drew
  // it, not by a bare interval: a run slower than the interval would be cut short by the next click
  // and the deck would never move on.
  clearInterval(win.__tthcDeckTimer);
  if (%(seconds)d > 0) {
    let idleSince = null;
    win.__tthcDeckTimer = setInterval(function () {
      const state = doc.querySelector('[data-test-script-state]');
      if (state && state.getAttribute('data-test-script-state') !== 'notRunning') { idleSince = null; return; }
      if (idleSince === null) { idleSince = Date.now(); return; }
      if (Date.now() - idleSince >= %(seconds)d * 1000) { idleSince = null; win.__tthcClick('%(next)s'); }
    }, 250);
  }
})();
</script>
"""


def chart(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, theme=None)


def _slide_chart(fig: go.Figure, key: str) -> None:
    """A chart that fills the slide: the window decides its height, not the figure."""
    fig = go.Figure(fig)
    # The page header above states the scope and the period: the slide keeps its height for the data.
    fig.update_layout(height=None, autosize=True, title_subtitle_text=None, title_pad_b=12)
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, theme=None, height="stretch")


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
        # From the index now, not the one this run drew: two clicks before a slow run ends are two steps.
        st.session_state[state_key] = (st.session_state.get(state_key, 0) + step) % len(slides)

    left, middle, right = st.columns([1, 4, 1], vertical_alignment="center")
    left.button(PREVIOUS, key=f"{key}_prev", on_click=move, args=(-1,), width="stretch")
    middle.markdown(f"<p style='text-align:center'>Màn hình <b>{index + 1}</b> / {len(slides)}</p>",
                    unsafe_allow_html=True)
    right.button(NEXT, key=f"{key}_next", on_click=move, args=(1,), width="stretch")
    seconds = int(st.session_state.get(ADVANCE_KEY) or 0)
    st.html(KEYBOARD_JS % {"next": NEXT, "previous": PREVIOUS, "seconds": seconds}, unsafe_allow_javascript=True)
    slide = slides[index]
    with st.container(key=SLIDE_KEY):
        if isinstance(slide, go.Figure):
            _slide_chart(slide, key=f"{key}_slide")
        else:
            slide(f)
