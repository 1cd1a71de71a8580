"""Plan and carry out a change of images: planner, executor, lock, snapshot, ledger, outcomes."""
