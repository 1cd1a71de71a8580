"""Where an environment's shared state lives: the lock, the run in flight, the journal, the snapshots.

``store.py`` is the protocol and the records; ``file.py`` the embedded default (one machine);
``zk.py`` the ZooKeeper store (any number of machines). ``open_store`` picks one from ``state``.
"""
