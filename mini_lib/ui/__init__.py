"""The notebook UI: sliders that redraw a figure in place, and the course's plotting style."""
