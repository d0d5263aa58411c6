"""Policy gradients (chapter 03, reused by A3C): read in the order config → advantages →
networks → rollouts → losses → training; ``exact`` computes the true gradient of a small MDP."""
