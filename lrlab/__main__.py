from lrlab.cli import app

app(prog_name="lrlab")
