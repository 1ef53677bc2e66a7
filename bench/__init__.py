"""Benchmark and robustness suite for the least-privilege engine and pack.

`python -m bench` (via `make bench`) times our engine against Parliament and Cloudsplaining on the
same documents, times the pack and the offline check, runs the long fuzz profile, and prints one JSON
line with the headline figures. The peers live in their own virtualenv (`bench/.venv-peers`) and are
driven as a subprocess, so they never become dependencies of the project or the pack.
"""
