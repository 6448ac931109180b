"""Reading results: which trials (``selection``), the comparison and its verdicts
(``compare``), seed statistics (``stats``), range-test suggestions (``suggest``) and what a
run directory is doing (``status``). Pure: no TensorFlow, no printing."""
