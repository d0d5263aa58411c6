"""One check shared by the panel tests: a blitted redraw must look like a full render."""

import io

import matplotlib as mpl
import numpy as np
from PIL import Image

from mini_lib.ui.widgets import DRAWING_STYLE, SliderPanel


def blit_mismatch(panel: SliderPanel) -> float:
    """Fraction of pixels (differing by > 8 of 255 in a channel) between the panel's last
    blitted PNG and a full render of the same figure."""
    blitted = np.asarray(Image.open(io.BytesIO(panel.png)).convert("RGB"), dtype=float)
    for artist in panel.draw.dynamic_artists():
        artist.set_animated(False)
    full = io.BytesIO()
    with mpl.rc_context(DRAWING_STYLE):
        panel.figure.savefig(full, format="png")
    rendered = np.asarray(Image.open(full).convert("RGB"), dtype=float)
    assert blitted.shape == rendered.shape, "a full render has another size than the panel"
    return float(np.mean(np.any(np.abs(blitted - rendered) > 8, axis=2)))
