"""Showing results: a comparison as text (``render``), plots (``plots``), the HTML page
(``report``) and TensorBoard event files (``tensorboard_export``). No TensorFlow."""
