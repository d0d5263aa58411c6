"""RL² (Duan et al. 2016): a recurrent policy whose memory learns to explore a task (chapter 07)."""
