"""Where trials run: this process, worker processes (and, later, a Ray cluster)."""
