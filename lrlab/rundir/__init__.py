"""The run directory: what a trial records (``records``), the one reader and writer of run
files (``store``), loading many of them into one frame (``loading``), the writer's lock
(``lock``) and atomic files (``files``). Pure: no TensorFlow."""
