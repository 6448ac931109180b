"""What an experiment is, before anything trains: the YAML schema and its loading
(``config``), the Keras optimizers lrlab knows (``optimizers``) and the expansion of a config
into trials (``trials``). Pure: no TensorFlow, no files but the config itself."""
