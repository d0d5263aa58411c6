"""Model-based meta-RL (chapter 08, part 2): planning with a learned, adapted dynamics model."""
