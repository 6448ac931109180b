"""Running experiments: a sweep (``sweep``), the learning-rate range test (``find_lr``), where
trials train (``backends``) and what a session records of its machine (``environment``)."""
