"""The pure compute/draw functions behind each chapter's sliders (one module per chapter)."""
