"""Two-player games solved exactly and learned by self-play (chapter 09): tic-tac-toe, its
exact minimax values, PUCT tree search, a policy/value network and the AlphaZero loop."""
