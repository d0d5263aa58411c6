"""Deep Q-learning (chapter 02): the DQN training loop and its replay buffer."""
